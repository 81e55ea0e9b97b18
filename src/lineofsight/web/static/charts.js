// Draws the KPI page's charts with plotly.js (served by this server from the installed plotly
// package). The data sits in <script type="application/json"> blocks written by the server, so
// no page carries inline script and nothing is fetched from elsewhere.
(function () {
  "use strict";

  function readData(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function drawKpi() {
    var data = readData("kpi-chart-data");
    var target = document.getElementById("kpi-chart");
    if (!data || !target || !window.Plotly) return;
    var traces = [
      { x: data.periods, y: data.target, name: "Target path", mode: "lines",
        line: { dash: "dash", color: "#5a6270" } },
      { x: data.periods, y: data.actual, name: "Actual", mode: "lines+markers",
        line: { color: "#1f5fbf", width: 3 }, marker: { symbol: "circle", size: 7 } }
    ];
    if (data.benchmark !== null) {
      traces.push({ x: [data.periods[0], data.periods[data.periods.length - 1]],
        y: [data.benchmark, data.benchmark], name: "Benchmark", mode: "lines",
        line: { dash: "dot", color: "#8a5a00" } });
    }
    if (data.forecast) {
      // The 80% interval as a band: its upper edge, then the lower one filled up to it.
      traces.push({ x: data.forecast.periods, y: data.forecast.high, name: "80% interval",
        mode: "lines", line: { width: 0, color: "#b42318" }, showlegend: false,
        hoverinfo: "skip" });
      traces.push({ x: data.forecast.periods, y: data.forecast.low, name: "80% interval",
        mode: "lines", line: { width: 0, color: "#b42318" }, fill: "tonexty",
        fillcolor: "rgba(180, 35, 24, 0.15)" });
      traces.push({ x: data.forecast.periods, y: data.forecast.values, name: "Forecast",
        mode: "lines+markers", line: { dash: "dashdot", color: "#b42318" },
        marker: { symbol: "diamond", size: 6 } });
    }
    var shapes = [];
    if (data.range) {
      shapes.push({ type: "rect", xref: "paper", x0: 0, x1: 1, yref: "y",
        y0: data.range[0], y1: data.range[1], fillcolor: "#e3f4e8", opacity: 0.5,
        line: { width: 0 }, layer: "below" });
    }
    window.Plotly.newPlot(target, traces, {
      margin: { t: 20, r: 10, b: 50, l: 60 },
      xaxis: { type: "category", title: { text: "Period" } },
      yaxis: { title: { text: data.unit_of_measure } },
      legend: { orientation: "h", y: -0.2 },
      shapes: shapes
    }, { displaylogo: false, responsive: true }).then(function () {
      target.setAttribute("data-drawn", "true");
    });
  }

  function drawExplain() {
    var data = readData("explain-chart-data");
    var target = document.getElementById("explain-chart");
    if (!data || !target || !window.Plotly) return;
    var x = [data.from_label].concat(data.items, [data.to_label]);
    var y = [data.from].concat(data.values, [data.to]);
    var measure = ["absolute"].concat(data.items.map(function () { return "relative"; }),
      ["total"]);
    // Start the axis near the values: from zero, small contributions would be invisible.
    var running = [data.from], total = data.from;
    data.values.forEach(function (v) { total += v; running.push(total); });
    running.push(data.to);
    var low = Math.min.apply(null, running), high = Math.max.apply(null, running);
    var pad = (high - low) * 0.25 || Math.abs(high) * 0.05 || 1;
    window.Plotly.newPlot(target, [{ type: "waterfall", x: x, y: y, measure: measure,
      connector: { line: { color: "#8a93a3" } },
      increasing: { marker: { color: "#1a7f37" } },
      decreasing: { marker: { color: "#b42318" } },
      totals: { marker: { color: "#1f5fbf" } } }], {
      margin: { t: 20, r: 10, b: 80, l: 60 }, xaxis: { type: "category" }, showlegend: false,
      yaxis: { range: [low - pad, high + pad] }
    }, { displaylogo: false, responsive: true }).then(function () {
      target.setAttribute("data-drawn", "true");
    });
  }

  function start() { drawKpi(); drawExplain(); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

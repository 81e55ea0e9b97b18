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
    // Periods as people read them (Oct 2026), the same for the forecast's periods.
    var label = {};
    data.periods.forEach(function (p, i) { label[p] = data.labels ? data.labels[i] : p; });
    var x = data.periods.map(function (p) { return label[p]; });
    var traces = [
      { x: x, y: data.target, name: "Target path", mode: "lines",
        line: { dash: "dash", color: "#5a6270" } },
      { x: x, y: data.actual, name: "Actual", mode: "lines+markers",
        line: { color: "#1f5fbf", width: 3 }, marker: { symbol: "circle", size: 7 } }
    ];
    if (data.benchmark !== null) {
      traces.push({ x: [x[0], x[x.length - 1]],
        y: [data.benchmark, data.benchmark], name: "Benchmark", mode: "lines",
        line: { dash: "dot", color: "#8a5a00" } });
    }
    if (data.forecast) {
      var fx = data.forecast.periods.map(function (p) { return label[p] || p; });
      // The 80% interval as a band: its upper edge, then the lower one filled up to it.
      traces.push({ x: fx, y: data.forecast.high, name: "80% interval",
        mode: "lines", line: { width: 0, color: "#b42318" }, showlegend: false,
        hoverinfo: "skip" });
      traces.push({ x: fx, y: data.forecast.low, name: "80% interval",
        mode: "lines", line: { width: 0, color: "#b42318" }, fill: "tonexty",
        fillcolor: "rgba(180, 35, 24, 0.15)" });
      traces.push({ x: fx, y: data.forecast.values, name: "Forecast",
        mode: "lines+markers", line: { dash: "dashdot", color: "#b42318" },
        marker: { symbol: "diamond", size: 6 } });
    }
    var shapes = [];
    if (data.range) {
      shapes.push({ type: "rect", xref: "paper", x0: 0, x1: 1, yref: "y",
        y0: data.range[0], y1: data.range[1], fillcolor: "#e3f4e8", opacity: 0.5,
        line: { width: 0 }, layer: "below" });
    }
    target.replaceChildren();  // the server's SVG, for readers without JavaScript
    window.Plotly.newPlot(target, traces, {
      margin: { t: 20, r: 10, b: 50, l: 60 },
      xaxis: { type: "category", title: { text: "Period" }, nticks: 12, automargin: true },
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
    var x = [data.from_name || data.from_label].concat(data.items,
      [data.to_name || data.to_label]);
    var y = [data.from].concat(data.values, [data.to]);
    var measure = ["absolute"].concat(data.items.map(function () { return "relative"; }),
      ["total"]);
    // The bars stand on zero, so their lengths compare truly (a +2 change on 105.5 must not
    // look like a doubling); each bar carries its number, so a small one still reads.
    var running = [0, data.from], total = data.from;
    data.values.forEach(function (v) { total += v; running.push(total); });
    running.push(data.to);
    var low = Math.min.apply(null, running), high = Math.max.apply(null, running);
    var pad = (high - low) * 0.1 || 1;
    var text = y.map(function (v, i) {
      var shown = Number(v.toPrecision(4)).toLocaleString();
      return measure[i] === "relative" && v > 0 ? "+" + shown : shown;
    });
    window.Plotly.newPlot(target, [{ type: "waterfall", x: x, y: y, measure: measure,
      text: text, textposition: "outside", cliponaxis: false,
      connector: { line: { color: "#8a93a3" } },
      increasing: { marker: { color: "#1a7f37" } },
      decreasing: { marker: { color: "#b42318" } },
      totals: { marker: { color: "#1f5fbf" } } }], {
      margin: { t: 20, r: 10, b: 80, l: 60 }, xaxis: { type: "category" }, showlegend: false,
      yaxis: { range: [low < 0 ? low - pad : 0, high > 0 ? high + pad : 0] }
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

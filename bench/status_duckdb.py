"""The scorecard of a bench store written by hand in DuckDB SQL: the reference that
`bench_status.py` measures `los status` against, and checks it agrees with.

`prepare(store_db, duck_db)` copies the store's tables into a DuckDB file once (not timed), with
each formula of the bench's organisations (`a + b - c` over KPIs of one unit) split into its
signed terms, as a hand-written schema would keep them. `QUERY` then scores it as SPEC section 3
says for what the generated organisations use: monthly and quarterly KPIs on the calendar year,
reporting lag (`due_days`), values at each KPI's own unit, ratios, formulas, range KPIs,
each row's last value (the latest before its period, however old),
per-period targets, glide paths, tolerances; objective roll-ups down a tree of any depth up
to 8, unit means, counts and the worst item. It writes the same JSON document as
`los status --format json` (`{"as_of", "kpis", "objectives", "units"}`).

    python bench/status_duckdb.py STORE.db DUCK.db        # prepare
    python -c "$(python bench/status_duckdb.py --print-run DUCK.db 2026-11-22)"   # score
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

TABLES = {
    "kpis": "SELECT id, position, unit_id, frequency, direction, aggregation, formula, "
    "ratio_scale, range_low, range_high, baseline_period, baseline_value, target_value, "
    "target_by, tolerance, tolerance_abs, due_days FROM kpis",
    "period_targets": "SELECT kpi_id, unit_id, period, value, position FROM kpi_period_targets",
    "supports": "SELECT kpi_id, objective_id, weight FROM kpi_supports",
    "objectives": "SELECT id, position, unit_id, parent_id, weight, status FROM objectives",
    "units": "SELECT id, position, parent_id FROM units",
    "measurements": "SELECT kpi_id, unit_id, period, period_end, value, numerator, denominator "
    "FROM measurements",
    "organization": "SELECT due_days FROM organization",
}


def prepare(store_db: Path, duck_db: Path) -> None:
    """Copy the store's tables into a new DuckDB file, with formula terms split out."""
    import duckdb
    import polars as pl

    duck_db.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{store_db}?mode=ro", uri=True)
    con = duckdb.connect(str(duck_db))
    for name, query in TABLES.items():
        cursor = source.execute(query)
        columns = [d[0] for d in cursor.description]
        frame = pl.DataFrame(
            cursor.fetchall(), schema=columns, orient="row", infer_schema_length=None
        )
        con.register("incoming", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM incoming")
        con.unregister("incoming")
    terms = []
    for kpi_id, formula in source.execute("SELECT id, formula FROM kpis WHERE formula IS NOT NULL"):
        sign = 1.0
        for token in formula.split():
            if token in "+-":
                sign = 1.0 if token == "+" else -1.0
            else:
                terms.append((kpi_id, token, sign))
    frame = pl.DataFrame(terms, schema=["kpi_id", "input_id", "sign"], orient="row")
    con.register("incoming", frame)
    con.execute("CREATE TABLE formula_terms AS SELECT * FROM incoming")
    con.execute(
        "ALTER TABLE measurements ALTER period_end TYPE DATE; "
        "ALTER TABLE kpis ALTER target_by TYPE DATE"
    )
    con.close()
    source.close()


# $AS_OF is replaced by the date literal. Periods: month or quarter ends (calendar year).
QUERY = r"""
WITH RECURSIVE org AS (SELECT due_days AS org_due FROM organization),
-- The links scores roll up along: a closed objective is no item of its parent's.
links AS MATERIALIZED (
  SELECT id, position, CASE WHEN status = 'closed' THEN NULL ELSE parent_id END AS parent_id,
         weight FROM objectives
),
k AS (
  SELECT k.*, coalesce(k.due_days, org.org_due) AS due,
         CASE k.frequency WHEN 'monthly' THEN 1 ELSE 3 END AS months
  FROM kpis k, org
),
-- Slot 0: the KPI's latest period ending on or before the as-of date; then earlier ones.
base AS (
  SELECT date_trunc('month', DATE $AS_OF)
           - INTERVAL 1 MONTH * CASE WHEN DATE $AS_OF = last_day(DATE $AS_OF) THEN 0 ELSE 1 END
           AS month0,
         CASE WHEN last_day(date_trunc('quarter', DATE $AS_OF) + INTERVAL 2 MONTH) <= DATE $AS_OF
              THEN date_trunc('quarter', DATE $AS_OF)
              ELSE date_trunc('quarter', DATE $AS_OF) - INTERVAL 3 MONTH END AS quarter0
),
slots AS (
  SELECT k.id, s.slot, k.due,
         CASE WHEN k.months = 1 THEN last_day(base.month0 - INTERVAL 1 MONTH * s.slot)
              ELSE last_day(base.quarter0 - INTERVAL 3 MONTH * s.slot + INTERVAL 2 MONTH) END
           AS p_end
  FROM k, base, range(0, 14) s(slot)
),
slots2 AS MATERIALIZED (
  SELECT id, slot, p_end, p_end + INTERVAL 1 DAY * due <= DATE $AS_OF AS is_due, due FROM slots
),
first_due AS (SELECT id, min(slot) AS due_slot FROM slots2 WHERE is_due GROUP BY id),
-- Only the slots a KPI can be scored at (up to its first due one) and the one before.
needed AS MATERIALIZED (
  SELECT s.* FROM slots2 s JOIN first_due f USING (id) WHERE s.slot <= f.due_slot + 1
),
measured AS (
  SELECT m.kpi_id AS id, m.period_end AS p_end,
         CASE WHEN k.ratio_scale IS NOT NULL
              THEN k.ratio_scale * m.numerator / nullif(m.denominator, 0)
              ELSE m.value END AS v
  FROM measurements m JOIN k ON k.id = m.kpi_id AND k.unit_id = m.unit_id
  WHERE m.period_end >= (SELECT min(p_end) FROM needed) AND m.period_end <= DATE $AS_OF
),
slot_values AS (
  SELECT s.id, s.slot, s.p_end, me.v FROM needed s JOIN measured me USING (id, p_end)
),
formula_values AS (
  SELECT t.kpi_id AS id, s.slot, s.p_end,
         CASE WHEN count(sv.v) = count(*) THEN sum(t.sign * sv.v) END AS v
  FROM formula_terms t
  JOIN needed s ON s.id = t.kpi_id
  LEFT JOIN slot_values sv ON sv.id = t.input_id AND sv.p_end = s.p_end
  GROUP BY t.kpi_id, s.slot, s.p_end
),
all_values AS MATERIALIZED (
  SELECT id, slot, v FROM slot_values WHERE v IS NOT NULL
  UNION ALL SELECT id, slot, v FROM formula_values WHERE v IS NOT NULL
),
chosen AS (
  SELECT f.id, coalesce(min(a.slot) FILTER (WHERE a.slot <= f.due_slot), f.due_slot) AS slot
  FROM first_due f LEFT JOIN all_values a USING (id) GROUP BY f.id, f.due_slot
),
picked AS (
  SELECT c.id, c.slot,
         any_value(s.p_end) FILTER (WHERE s.slot = c.slot) AS p_end,
         any_value(s.p_end) FILTER (WHERE s.slot = c.slot + 1) AS last_end,
         any_value(a.v) FILTER (WHERE s.slot = c.slot) AS actual,
         any_value(a.v) FILTER (WHERE s.slot = c.slot + 1) AS last_value
  FROM chosen c JOIN needed s ON s.id = c.id AND s.slot IN (c.slot, c.slot + 1)
  LEFT JOIN all_values a ON a.id = s.id AND a.slot = s.slot
  GROUP BY c.id, c.slot
),
-- The last value of the KPIs with none in the period before theirs: the latest before it,
-- however old (their own measured values, or a formula's where every input has one).
lacking AS MATERIALIZED (SELECT id, p_end FROM picked WHERE last_value IS NULL),
older_measured AS MATERIALIZED (
  SELECT m.kpi_id AS id, m.period_end AS p_end,
         CASE WHEN k.ratio_scale IS NOT NULL
              THEN k.ratio_scale * m.numerator / nullif(m.denominator, 0)
              ELSE m.value END AS v
  FROM measurements m JOIN k ON k.id = m.kpi_id AND k.unit_id = m.unit_id
  WHERE m.kpi_id IN (SELECT id FROM lacking UNION ALL
                     SELECT t.input_id FROM formula_terms t JOIN lacking l ON l.id = t.kpi_id)
),
older_values AS (
  SELECT id, p_end, v FROM older_measured WHERE v IS NOT NULL
  UNION ALL
  SELECT t.kpi_id, o.p_end, sum(t.sign * o.v)
  FROM formula_terms t JOIN lacking l ON l.id = t.kpi_id
  JOIN older_measured o ON o.id = t.input_id AND o.v IS NOT NULL
  JOIN (SELECT kpi_id, count(*) AS n FROM formula_terms GROUP BY kpi_id) n
    ON n.kpi_id = t.kpi_id
  GROUP BY t.kpi_id, o.p_end, n.n HAVING count(*) = n.n
),
older_last AS (
  SELECT l.id, arg_max(o.v, o.p_end) AS v, max(o.p_end) AS p_end
  FROM lacking l JOIN older_values o ON o.id = l.id AND o.p_end < l.p_end GROUP BY l.id
),
rows AS MATERIALIZED (
  SELECT k.*, p.slot, p.p_end, p.actual, coalesce(p.last_value, ol.v) AS last_value,
         CASE WHEN k.months = 1 THEN strftime(p.p_end, '%Y-%m')
              ELSE strftime(p.p_end, '%Y') || '-Q' || CAST(quarter(p.p_end) AS VARCHAR) END
           AS period,
         CASE WHEN p.last_value IS NOT NULL THEN p.last_end ELSE ol.p_end END AS last_end
  FROM k JOIN picked p ON p.id = k.id LEFT JOIN older_last ol ON ol.id = k.id
),
periods AS MATERIALIZED (
  SELECT * EXCLUDE (last_end),
         CASE WHEN last_value IS NULL THEN NULL
              WHEN months = 1 THEN strftime(last_end, '%Y-%m')
              ELSE strftime(last_end, '%Y') || '-Q' || CAST(quarter(last_end) AS VARCHAR) END
           AS last_period
  FROM rows
),
own_targets AS (
  SELECT kpi_id, period, arg_min(value, position) AS value FROM period_targets
  WHERE unit_id = '' GROUP BY kpi_id, period
),
based AS (
  SELECT r.*, pt.value AS override,
    CASE WHEN r.baseline_period LIKE '%Q%'
         THEN last_day(make_date(CAST(left(r.baseline_period, 4) AS INT),
                                 CAST(right(r.baseline_period, 1) AS INT) * 3, 1))
         ELSE last_day(CAST(r.baseline_period || '-01' AS DATE)) END AS b_end
  FROM periods r LEFT JOIN own_targets pt ON pt.kpi_id = r.id AND pt.period = r.period
),
targeted AS (
  SELECT *,
    CASE WHEN direction = 'range' THEN (range_low + range_high) / 2
         ELSE coalesce(override,
           CASE WHEN target_value IS NULL THEN NULL
                WHEN baseline_value IS NULL OR p_end >= target_by THEN target_value
                WHEN p_end <= b_end THEN baseline_value
                ELSE baseline_value + (target_value - baseline_value)
                  * date_diff('day', b_end, p_end) / date_diff('day', b_end, target_by) END)
    END AS target
  FROM based
),
missed AS (
  SELECT t.*,
    CASE WHEN direction = 'increase' THEN greatest(0.0, target - actual)
         WHEN direction = 'decrease' THEN greatest(0.0, actual - target)
         ELSE greatest(0.0, range_low - actual, actual - range_high) END AS miss_raw,
    coalesce(tolerance_abs, coalesce(tolerance, 0.10) * abs(target)) AS tol
  FROM targeted t
),
scored AS MATERIALIZED (
  SELECT id, unit_id AS unit, period, position, actual, target,
    CASE WHEN actual IS NOT NULL AND target IS NOT NULL THEN miss_raw END AS miss,
    CASE WHEN actual IS NULL OR target IS NULL THEN NULL
         WHEN tol = 0 THEN CASE WHEN miss_raw = 0 THEN 100.0 ELSE 0.0 END
         ELSE least(100.0, greatest(0.0, 100.0 - 50.0 * (miss_raw / tol))) END AS score,
    CASE WHEN actual IS NULL THEN 'no_data' WHEN target IS NULL THEN 'no_target'
         WHEN miss_raw = 0 THEN 'green' WHEN miss_raw <= tol THEN 'amber' ELSE 'red' END AS status,
    CASE WHEN actual IS NULL OR target IS NULL THEN NULL
         WHEN direction = 'decrease' THEN CASE WHEN actual <> 0 THEN target / actual END
         ELSE CASE WHEN target <> 0 THEN actual / target END END AS achievement,
    p_end + INTERVAL 1 DAY * due AS due,
    CASE WHEN actual IS NOT NULL THEN 'reported'
         WHEN p_end + INTERVAL 1 DAY * due <= DATE $AS_OF THEN 'overdue'
         ELSE 'awaiting' END AS data,
    last_value, last_period
  FROM missed
),
-- Objectives: depth from the roots, then weighted means from the deepest level up.
tree AS (
  SELECT id, parent_id, 0 AS depth FROM links WHERE parent_id IS NULL
  UNION ALL
  SELECT o.id, o.parent_id, t.depth + 1 FROM links o JOIN tree t ON o.parent_id = t.id
),
kpi_part AS (
  SELECT s.objective_id AS id, sum(s.weight) AS total,
         coalesce(sum(s.weight) FILTER (WHERE k.score IS NOT NULL), 0) AS scored_w,
         coalesce(sum(s.weight * k.score) FILTER (WHERE k.score IS NOT NULL), 0) AS weighted
  FROM supports s JOIN scored k ON k.id = s.kpi_id GROUP BY 1
),
lvl AS MATERIALIZED (SELECT t.id, t.parent_id, t.depth, o.weight, coalesce(p.total, 0) AS total,
               coalesce(p.scored_w, 0) AS scored_w, coalesce(p.weighted, 0) AS weighted
        FROM tree t JOIN links o USING (id) LEFT JOIN kpi_part p USING (id)),
up AS MATERIALIZED (
  -- One pass per level, deepest first: each level adds its children's scores.
  SELECT *, CASE WHEN scored_w > 0 THEN weighted / scored_w END AS score,
         CASE WHEN total > 0 THEN scored_w / total ELSE 0 END AS coverage
  FROM lvl WHERE depth = (SELECT max(depth) FROM lvl)
),
$LEVELS
obj AS MATERIALIZED (
  SELECT o.id, o.position, s.score, s.coverage FROM objectives o JOIN $LAST s USING (id)
),
obj_items AS (
  SELECT s.objective_id AS owner, 'kpi' AS kind, k.id AS item_id, k.status, k.score
  FROM supports s JOIN scored k ON k.id = s.kpi_id
  UNION ALL
  SELECT o.parent_id, 'objective', o.id,
         CASE WHEN b.score IS NULL THEN 'no_data' WHEN b.score >= 90 THEN 'green'
              WHEN b.score >= 50 THEN 'amber' ELSE 'red' END, b.score
  FROM links o JOIN obj b USING (id) WHERE o.parent_id IS NOT NULL
),
unit_items AS (SELECT unit AS owner, 'kpi' AS kind, id AS item_id, status, score FROM scored),
tally AS MATERIALIZED (
  SELECT 'o' AS side, owner, {'green': count(*) FILTER (status = 'green'),
           'amber': count(*) FILTER (status = 'amber'), 'red': count(*) FILTER (status = 'red'),
           'no_data': count(*) FILTER (status = 'no_data'),
           'no_target': count(*) FILTER (status = 'no_target')} AS counts,
         arg_min({'id': item_id, 'kind': kind, 'status': status, 'score': round(score, 6)},
                 (score, kind, item_id)) FILTER (score IS NOT NULL) AS worst
  FROM obj_items GROUP BY owner
  UNION ALL
  SELECT 'u', owner, {'green': count(*) FILTER (status = 'green'),
           'amber': count(*) FILTER (status = 'amber'), 'red': count(*) FILTER (status = 'red'),
           'no_data': count(*) FILTER (status = 'no_data'),
           'no_target': count(*) FILTER (status = 'no_target')},
         arg_min({'id': item_id, 'kind': kind, 'status': status, 'score': round(score, 6)},
                 (score, kind, item_id)) FILTER (score IS NOT NULL)
  FROM unit_items GROUP BY owner
),
kpi_json AS (
  SELECT string_agg(to_json({'id': id, 'unit': unit, 'period': period, 'actual': round(actual, 6),
           'target': round(target, 6), 'miss': round(miss, 6), 'score': round(score, 6),
           'status': status, 'achievement': round(achievement, 6), 'due': due::DATE,
           'data': data, 'last_value': round(last_value, 6), 'last_period': last_period})::VARCHAR,
           ',' ORDER BY position) AS doc FROM scored
),
obj_json AS (
  SELECT string_agg(to_json({'id': o.id, 'score': round(o.score, 6),
           'status': CASE WHEN o.score IS NULL THEN 'no_data' WHEN o.score >= 90 THEN 'green'
                          WHEN o.score >= 50 THEN 'amber' ELSE 'red' END,
           'coverage': round(o.coverage, 6), 'counts': coalesce(t.counts, $ZERO),
           'worst': t.worst})::VARCHAR,
           ',' ORDER BY o.position) AS doc
  FROM obj o LEFT JOIN tally t ON t.side = 'o' AND t.owner = o.id
),
unit_json AS (
  SELECT string_agg(to_json({'id': u.id, 'score': round(m.score, 6),
           'status': CASE WHEN m.score IS NULL THEN 'no_data' WHEN m.score >= 90 THEN 'green'
                          WHEN m.score >= 50 THEN 'amber' ELSE 'red' END,
           'counts': coalesce(t.counts, $ZERO), 'worst': t.worst})::VARCHAR,
           ',' ORDER BY u.position) AS doc
  FROM units u
  LEFT JOIN (SELECT unit, avg(score) AS score FROM scored GROUP BY unit) m ON m.unit = u.id
  LEFT JOIN tally t ON t.side = 'u' AND t.owner = u.id
)
SELECT '{"as_of": "' || $AS_OF || '", "kpis": [' || coalesce(kpi_json.doc, '')
    || '], "objectives": [' || coalesce(obj_json.doc, '') || '], "units": ['
    || coalesce(unit_json.doc, '') || ']}'
FROM kpi_json, obj_json, unit_json
"""

MAX_DEPTH = 8


def query(as_of: str) -> str:
    """The scoring query for this as-of date (levels of the objective tree unrolled)."""
    levels = []
    previous = "up"
    for depth in range(1, MAX_DEPTH):
        name = f"up{depth}"
        # Objectives of the level above `previous`'s shallowest: their KPIs plus their children.
        levels.append(
            f"""{name} AS MATERIALIZED (
  SELECT * FROM {previous}
  UNION ALL
  SELECT l.*, CASE WHEN l.scored_w + coalesce(c.cw, 0) > 0
    THEN (l.weighted + coalesce(c.cws, 0)) / (l.scored_w + coalesce(c.cw, 0)) END,
    CASE WHEN l.total + coalesce(c.ct, 0) > 0
    THEN (l.scored_w + coalesce(c.cw, 0)) / (l.total + coalesce(c.ct, 0)) ELSE 0 END
  FROM lvl l LEFT JOIN (
    SELECT parent_id, sum(weight) AS ct, sum(weight) FILTER (WHERE score IS NOT NULL) AS cw,
           sum(weight * score) FILTER (WHERE score IS NOT NULL) AS cws
    FROM {previous} GROUP BY parent_id) c ON c.parent_id = l.id
  WHERE l.depth = (SELECT min(depth) FROM {previous}) - 1
),"""
        )
        previous = name
    zero = "{'green': 0, 'amber': 0, 'red': 0, 'no_data': 0, 'no_target': 0}"
    text = (
        QUERY.replace("$ZERO", zero)
        .replace("$LEVELS", "\n".join(levels))
        .replace("$LAST", previous)
    )
    return text.replace("$AS_OF", f"'{as_of}'")


def run_code(duck_db: Path, as_of: str) -> str:
    """Python that scores in a fresh process and writes the JSON to standard output."""
    return (
        "import sys, duckdb\n"
        f"con = duckdb.connect({str(duck_db)!r}, read_only=True)\n"
        "con.execute('SET enable_progress_bar = false')\n"
        f"sys.stdout.write(con.execute({query(as_of)!r}).fetchone()[0] + '\\n')\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("duck", type=Path, nargs="?")
    parser.add_argument("--print-run", metavar="AS_OF")
    args = parser.parse_args()
    if args.print_run:
        sys.stdout.write(run_code(args.store, args.print_run))
        return 0
    prepare(args.store, args.duck)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The scorecard of the store, kept up to date instead of computed again for every request.

The first scorecard of an as-of date is computed in full and saved in the store with what it
covers (`store.scorecards`). The next one reads it back and scores again only the KPIs written
since (with the formulas that read them, all the way up), then rolls their objectives and
units up again from the KPI rows, and saves the result. A change of the definitions (`los
apply`) makes the next one compute in full. Either way the rows are the ones a full
computation gives: a KPI's rows depend only on its own values and definitions and those of
its formula's inputs (tests compare the two after random writes).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from lineofsight import __version__
from lineofsight.domain import model as m
from lineofsight.errors import UsageError
from lineofsight.services.arguments import OPTIONS, ArgumentNames
from lineofsight.services.as_of import resolve_as_of
from lineofsight.store.database import Store
from lineofsight.store.scorecards import (
    idle,
    read_fiscal_start,
    read_marks,
    read_snapshot,
    save_snapshot,
    written_since,
)

# The engine and Polars are imported only to score: a status whose snapshot is up to date
# writes the rows it kept, as text, and loads neither.
if TYPE_CHECKING:
    import polars as pl

    from lineofsight.engine.frames import DefinitionFrames, FrameEvaluation
    from lineofsight.services.scorecard_frames import ScorecardFrames
    from lineofsight.store.labels import Labels

_DEFINITIONS = ("kpis", "period_targets", "unit_targets", "supports", "objectives", "units")


_SECTIONS = ("kpis", "objectives", "units")
_LABELS = ("kpi_labels", "objective_labels", "unit_labels")
_UNCHANGED = (*_DEFINITIONS, "inputs", *_LABELS)  # parts that only an apply changes
# The layout of a stored snapshot; one of another layout or release is computed again.
FORMAT = 3


class Scorecard:
    """A scorecard with its definitions, and each row as the status JSON writes it (in the
    frames' order), kept with it so that an unchanged row is never written again.

    Read back from the store, its frames are decoded when first asked for: the JSON of the
    whole scorecard needs only its rows, kept as text (one row a line)."""

    def __init__(
        self,
        as_of: dt.date,
        rows: dict[str, pl.Series] | None = None,
        defs: DefinitionFrames | None = None,
        evaluation: FrameEvaluation | None = None,
        inputs: pl.DataFrame | None = None,
        stored: dict[str, Any] | None = None,
        labels: Labels | None = None,
    ) -> None:
        self.as_of = as_of
        self._rows = rows or {}  # kpis, objectives, units
        self._defs = defs
        self._evaluation = evaluation
        self._inputs = inputs
        self._stored = stored or {}
        self._labels = labels
        self._frames: ScorecardFrames | None = None

    @property
    def defs(self) -> DefinitionFrames:
        if self._defs is None:
            from lineofsight.engine.frames import DefinitionFrames

            header = self._stored["header"]
            self._defs = DefinitionFrames(
                **{name: self._frame(name) for name in _DEFINITIONS},
                calendar=m.Calendar(*header["calendar"]),
                scoring=m.Scoring(*header["scoring"]),
            )
        return self._defs

    @property
    def evaluation(self) -> FrameEvaluation:
        if self._evaluation is None:
            from lineofsight.engine.frames import FrameEvaluation

            self._evaluation = FrameEvaluation(
                self.as_of,
                self._frame("scored"),
                self._frame("objectives_rows"),
                self._frame("units_rows"),
            )
        return self._evaluation

    @property
    def inputs(self) -> pl.DataFrame:
        """Each formula KPI and the KPIs it reads: kpi_id, input_id."""
        if self._inputs is None:
            self._inputs = self._frame("inputs")
        return self._inputs

    @property
    def labels(self) -> Labels:
        """The names, titles and units of measure its rows carry."""
        if self._labels is None:
            from lineofsight.store.labels import Labels

            self._labels = Labels(*(self._frame(name) for name in _LABELS))
        return self._labels

    def frames(self) -> ScorecardFrames:
        """The scorecard's rows with names, unit names, units of measure and period ends."""
        if self._frames is None:
            from lineofsight.services.scorecard_frames import labelled

            self._frames = labelled(self.evaluation, self.defs, self.labels)
        return self._frames

    def rows(self, section: str) -> pl.Series:
        """The JSON rows of `kpis`, `objectives` or `units`."""
        if section not in self._rows:
            import polars as pl

            text = self._text(section)
            rows = text.split("\n") if text else []
            self._rows[section] = pl.Series("json", rows, dtype=pl.String)
        return self._rows[section]

    def _text(self, section: str) -> str:
        return bytes(self._stored["parts"][f"{section}_json"]).decode()

    def _frame(self, name: str) -> pl.DataFrame:
        import polars as pl

        return pl.read_ipc(io.BytesIO(self._stored["parts"][name]))

    def status_json(self) -> str:
        """The status JSON of the whole scorecard (as `shapes.status_json`)."""
        if not self._rows and "kpis_json" in self._stored.get("parts", {}):
            # Rows as stored: one a line, each line a JSON object without a line break.
            kpis, objectives, units = (self._text(s).replace("\n", ",") for s in _SECTIONS)
            return (
                f'{{"as_of": "{self.as_of.isoformat()}", "kpis": [{kpis}], '
                f'"objectives": [{objectives}], "units": [{units}]}}'
            )
        from lineofsight.services.shapes import status_document

        return status_document(self.as_of, *(self.rows(s) for s in _SECTIONS))


def scorecard(
    store: Store,
    period: str | None = None,
    as_of: str | None = None,
    *,
    save: bool = True,
    names: ArgumentNames = OPTIONS,
) -> Scorecard:
    """The scorecard as `los status` gives it (see `resolve_as_of`), from the stored snapshot
    brought up to date, else computed in full; saved for the next time unless `save` is off.
    Messages name the arguments as `names` says."""
    lag = not period  # a period report shows each KPI's period, value or not
    with store.reading() as conn:
        fiscal_start = read_fiscal_start(conn)
        if fiscal_start is None:
            raise UsageError("the store has no strategy yet: run `los apply strategy.yaml` first")
        calendar = m.Calendar(fiscal_start)
        day = resolve_as_of(m.Organization(name="", calendar=calendar), period, as_of, names)
        marks = read_marks(conn)  # before the data: the snapshot claims no more than it holds
        found = read_snapshot(conn, day, lag)
        changed: set[str] | None = None
        if found is not None and found.marks.definitions == marks.definitions:
            changed = written_since(conn, found.marks)
    card = decode(found.payload, day) if found is not None and changed is not None else None
    if card is not None and changed is not None:
        if not changed:
            return card
        card = patch(store, card, changed, lag)
    else:
        from lineofsight.engine.frames import rollup, score_kpis
        from lineofsight.services.evaluate import (
            frame_window,
            read_definition_frames,
            read_measurement_frame,
        )
        from lineofsight.services.scorecard_frames import json_rows, labelled
        from lineofsight.store.labels import read_labels

        defs = read_definition_frames(store)
        measurements = read_measurement_frame(store, frame_window(defs, day, lag))
        scored = score_kpis(defs, measurements, day, lag)
        del measurements
        ev = rollup(defs, scored, day)
        labels = read_labels(store)
        frames = labelled(ev, defs, labels)
        rows = {
            "kpis": json_rows(frames.kpis),
            "objectives": json_rows(frames.objectives),
            "units": json_rows(frames.units),
        }
        card = Scorecard(day, rows, defs, ev, formula_inputs(defs.kpis), labels=labels)
        card._frames = frames
    if save:
        idle(store)
        save_snapshot(store, day, lag, marks, encode(card))
    return card


def patch(store: Store, card: Scorecard, changed: Collection[str], lag: bool) -> Scorecard:
    """The scorecard with the KPIs `changed` (and every formula that reads them) scored again
    from the store, and every objective and unit rolled up again."""
    import polars as pl

    from lineofsight.engine.frames import rollup, score_kpis
    from lineofsight.services.evaluate import frame_window, read_kpi_frame
    from lineofsight.services.scorecard_frames import (
        json_rows,
        label_kpis,
        label_objectives,
        label_units,
    )

    defs, ev, inputs, labels = card.defs, card.evaluation, card.inputs, card.labels
    known = set(defs.kpis["id"].to_list())
    affected = _closure({k for k in changed if k in known}, _edges(inputs, upwards=True))
    if not affected:
        return card
    needed = _closure(affected, _edges(inputs, upwards=False))
    measurements = read_kpi_frame(store, needed, frame_window(defs, ev.as_of, lag))
    fresh = score_kpis(defs, measurements, ev.as_of, lag, only=needed).filter(
        pl.col("id").is_in(list(affected))
    )
    order = defs.kpis.select("id", "position")
    kept = ev.kpis.with_columns(card.rows("kpis")).filter(~pl.col("id").is_in(list(affected)))
    kpis = (
        pl.concat([kept, fresh.with_columns(json_rows(label_kpis(fresh, defs.calendar, labels)))])
        .join(order, on="id", how="left")
        .sort("position", pl.col("own_unit").not_(), "unit")
        .drop("position")
    )
    ev = rollup(defs, kpis.drop("json"), ev.as_of)
    rows = {
        "kpis": kpis["json"],
        "objectives": json_rows(label_objectives(ev.objectives, labels)),
        "units": json_rows(label_units(ev.units, labels)),
    }
    # The definitions are those read back: their stored bytes are saved again as they are.
    unchanged = {name: card._stored["parts"][name] for name in _UNCHANGED if card._stored}
    return Scorecard(ev.as_of, rows, defs, ev, inputs, stored={"parts": unchanged}, labels=labels)


def formula_inputs(kpis: pl.DataFrame) -> pl.DataFrame:
    """Each formula KPI and the KPIs its formula names: kpi_id, input_id."""
    import polars as pl

    from lineofsight.domain.formula import FormulaError, parse_formula, references

    pairs: list[tuple[str, str]] = []
    for kpi_id, formula in (
        kpis.filter(pl.col("formula").is_not_null()).select("id", "formula").iter_rows()
    ):
        try:
            pairs.extend((kpi_id, name) for name in references(parse_formula(formula)))
        except FormulaError:
            continue  # `los apply` refuses such a file; nothing to follow
    return pl.DataFrame(pairs, schema={"kpi_id": pl.String, "input_id": pl.String}, orient="row")


def _edges(inputs: pl.DataFrame, *, upwards: bool) -> dict[str, list[str]]:
    """Formula links, from an input to the formulas reading it (`upwards`) or the reverse."""
    edges: dict[str, list[str]] = {}
    for kpi_id, input_id in inputs.iter_rows():
        if upwards:
            edges.setdefault(input_id, []).append(kpi_id)
        else:
            edges.setdefault(kpi_id, []).append(input_id)
    return edges


def _closure(start: set[str], edges: dict[str, list[str]]) -> set[str]:
    found = set(start)
    stack = list(start)
    while stack:
        for following in edges.get(stack.pop(), ()):
            if following not in found:
                found.add(following)
                stack.append(following)
    return found


def encode(card: Scorecard) -> bytes:
    """A scorecard as bytes: a JSON header line, then each frame as Arrow IPC (LZ4: a fraction
    of the size, read back in milliseconds) and the JSON rows as text, one row a line."""

    defs, ev = card.defs, card.evaluation
    frames: dict[str, pl.DataFrame] = {
        **{name: getattr(defs, name) for name in _DEFINITIONS},
        "scored": ev.kpis,
        "objectives_rows": ev.objectives,
        "units_rows": ev.units,
        "inputs": card.inputs,
        **dict(
            zip(_LABELS, (card.labels.kpis, card.labels.objectives, card.labels.units), strict=True)
        ),
    }
    parts = []
    sizes = {}
    kept = card._stored.get("parts", {})
    for name, frame in frames.items():
        if name in _UNCHANGED and name in kept:
            parts.append(bytes(kept[name]))
        else:
            buffer = io.BytesIO()
            frame.write_ipc(buffer, compression="lz4")
            parts.append(buffer.getvalue())
        sizes[name] = len(parts[-1])
    for section in _SECTIONS:
        rows = card.rows(section)
        parts.append(rows.str.join("\n").item().encode() if len(rows) else b"")
        sizes[f"{section}_json"] = len(parts[-1])
    header = {
        "format": FORMAT,
        "release": __version__,  # rows as this release writes them
        "sizes": sizes,
        "calendar": [defs.calendar.fiscal_year_start, defs.calendar.due_days],
        "scoring": [defs.scoring.green_at, defs.scoring.amber_at],
    }
    return json.dumps(header).encode() + b"\n" + b"".join(parts)


def decode(payload: bytes, as_of: dt.date) -> Scorecard | None:
    """What `encode` wrote (its frames decoded when asked for); None when another release
    wrote it."""
    end = payload.find(b"\n")
    try:
        header = json.loads(payload[:end])
    except ValueError:
        return None
    if not isinstance(header, dict) or [header.get("format"), header.get("release")] != [
        FORMAT,
        __version__,
    ]:
        return None
    view = memoryview(payload)
    parts: dict[str, Any] = {}
    offset = end + 1
    for name, size in header["sizes"].items():
        parts[name] = view[offset : offset + size]
        offset += size
    return Scorecard(as_of, stored={"header": header, "parts": parts})


__all__ = ["Scorecard", "decode", "encode", "formula_inputs", "patch", "scorecard"]

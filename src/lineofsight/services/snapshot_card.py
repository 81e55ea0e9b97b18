"""A kept scorecard and its layout in the store: its frames (Arrow IPC) and its rows as the
status JSON writes them, read back lazily (see `services.snapshots`, which keeps it up to date).
"""

from __future__ import annotations

import array
import datetime as dt
import io
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from lineofsight import __version__
from lineofsight.domain import model as m
from lineofsight.store.scorecards import Marks

# The engine and Polars are imported only to score: a status whose snapshot is up to date
# writes the rows it kept, as text, and loads neither.
if TYPE_CHECKING:
    import polars as pl

    from lineofsight.engine.frames import DefinitionFrames, FrameEvaluation
    from lineofsight.services.scorecard_frames import ScorecardFrames
    from lineofsight.store.labels import Labels

_T = TypeVar("_T")

_DEFINITIONS = ("kpis", "period_targets", "unit_targets", "supports", "objectives", "units")


SECTIONS = ("kpis", "objectives", "units")
_LABELS = ("kpi_labels", "objective_labels", "unit_labels")
_UNCHANGED = (*_DEFINITIONS, "inputs", *_LABELS)  # parts that only an apply changes
_ROWS = {"kpis": "scored", "objectives": "objectives_rows", "units": "units_rows"}
# The layout of a stored snapshot; one of another layout or release is computed again.
FORMAT = 8
# A patch of more rows than this share of the scorecard's is saved in full instead.
PATCH_SHARE = 1 / 16


class Scorecard:
    """A scorecard with its definitions, and each row as the status JSON writes it (in the
    frames' order), kept with it so that an unchanged row is never written again.

    Read back from the store, its frames are decoded when first asked for: the JSON of the
    whole scorecard needs only its rows, kept as text (the rows of a section joined by the
    commas between them, as they are written out)."""

    def __init__(
        self,
        as_of: dt.date,
        rows: dict[str, pl.Series] | None = None,
        defs: DefinitionFrames | None = None,
        evaluation: FrameEvaluation | None = None,
        inputs: pl.DataFrame | None = None,
        stored: dict[str, Any] | None = None,
        labels: Labels | None = None,
        patched: dict[str, Any] | None = None,
        changes: dict[str, dict[int, bytes]] | None = None,
        texts: dict[str, bytes] | None = None,
    ) -> None:
        self.as_of = as_of
        self._rows = rows or {}  # kpis, objectives, units
        # Or each section's rows as one text, a row a line (`scorecard_frames.json_text`):
        # written out and saved without a Python string per row.
        self._texts = texts or {}
        self._defs = defs
        self._evaluation = evaluation
        self._inputs = inputs
        self._stored = stored or {}
        self._labels = labels
        self._frames: ScorecardFrames | None = None
        # The rows of a patch read back (`header` with each section's row numbers, `parts`).
        self._patched = patched or {}
        if self._patched and changes is None:
            changes = {}
            for section in SECTIONS:
                numbers = self._patched["header"]["rows"][section]
                lines = bytes(self._patched["parts"][f"{section}_json"]).split(b"\n")
                changes[section] = dict(zip(numbers, lines, strict=True)) if numbers else {}
        # Each section's JSON rows changed since the scorecard was saved in full, by row
        # number (None: not saved, or to be saved in full).
        self._changes = changes
        # Each section's JSON rows joined by commas (in pieces), with the rows they were
        # joined from, from their writing out (`status_json_stream`) until the scorecard is
        # saved in full: the two share one join of tens of megabytes, not held longer.
        self._joined: dict[str, tuple[pl.Series | None, list[bytes]]] = {}
        self.base: Marks | None = None  # what the scorecard saved in full covers
        self.covers: Marks | None = None  # what it covers, when that is known
        # Its saving in the store, when it was left for later (`keep`).
        self.pending: Callable[[bool], bool] | None = None

    def keep(self, *, aside: bool = False) -> bool:
        """Save it in the store now, if its saving was left for later (once). `aside`: a
        scorecard computed in full may be saved by a second process (`snapshot_keeper`), so
        that this one can end (a command whose output is written). False when the store
        did not take it (busy, read-only, or a failure logged rather than raised)."""
        pending, self.pending = self.pending, None
        return pending is None or pending(aside)

    def moved_since(self, before: dt.date, lag: bool) -> bool | None:
        """Whether any KPI's rows as of this card's date may differ from those as of `before`
        (`snapshot_days`), read from its layout without decoding a frame; None when unknown."""
        header = self._stored.get("header") if self._stored else None
        if header is None or "groups" not in header:
            return None
        from lineofsight.services.snapshot_days import moved_groups

        calendar = m.Calendar(*header["calendar"])
        return bool(moved_groups(header["groups"], calendar, before, self.as_of, lag))

    @property
    def holds_rows(self) -> bool:
        """Whether its JSON rows are its own (computed here), not stored ones read back."""
        return not self._stored

    @property
    def kpi_rows(self) -> int:
        """How many KPI rows the scorecard has (read from its layout, nothing decoded)."""
        if "kpis" in self._rows:
            return len(self._rows["kpis"])
        if "kpis" in self._texts:
            return self._texts["kpis"].count(b"\n")
        if self._evaluation is not None:
            return self._evaluation.kpis.height
        return int(self._stored["header"]["sizes"]["kpis_ends"]) // 4

    @property
    def changed(self) -> dict[str, set[int]] | None:
        """Each section's row numbers changed since the scorecard was saved in full."""
        if self._changes is None:
            return None
        return {section: set(rows) for section, rows in self._changes.items()}

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
        """Each formula KPI and the KPIs it reads: kpi_id, input_id (read back, else found
        from its definitions when first asked for: a scorecard computed in full needs them
        only once written out, to be saved or patched)."""
        if self._inputs is None:
            if self._stored:
                self._inputs = self._frame("inputs")
            else:
                from lineofsight.services.snapshot_patch import formula_inputs

                self._inputs = formula_inputs(self.defs.kpis)
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
        if section not in self._rows and section in self._texts:
            import polars as pl

            texts = self._texts[section].decode().split("\n")[:-1]
            self._rows[section] = pl.Series("json", texts, dtype=pl.String)
        if section not in self._rows:
            import polars as pl

            text = bytes(self._stored["parts"][f"{section}_json"])
            ends = self._ends(section)
            starts = [0, *(end + 1 for end in ends[:-1])] if ends else []  # none: no row
            lines = [text[start:end] for start, end in zip(starts, ends, strict=True)]
            for number, row in (self._changes or {}).get(section, {}).items():
                lines[number] = row
            rows = [line.decode() for line in lines]
            self._rows[section] = pl.Series("json", rows, dtype=pl.String)
        return self._rows[section]

    def joined(self, section: str, *, keep: bool = True) -> list[bytes]:
        """The section's JSON rows joined by the commas between them, UTF-8, in pieces to be
        written one after the other; kept for the next call unless `keep` is off (then the
        one kept, if any, is let go)."""
        return list(self._joining(section, keep=keep))

    def _joining(self, section: str, *, keep: bool) -> Iterator[bytes]:
        """`joined`'s pieces, each made when asked for: a piece can be written out while the
        next is made (`status_json_stream`)."""
        if section in self._texts and section not in self._rows:
            found = self._joined.pop(section, None)
            if found is not None and found[0] is None:
                pieces = found[1]
                yield from pieces
            else:
                pieces = []
                for piece in _joining_lines(self._texts[section]):
                    pieces.append(piece)
                    yield piece
            if keep:
                self._joined[section] = (None, pieces)
            return
        rows = self.rows(section)
        found = self._joined.pop(section, None)
        if found is None or found[0] is not rows:
            found = (rows, [rows.str.join(",").item().encode()] if len(rows) else [])
        if keep:
            self._joined[section] = found
        yield from found[1]

    def row_ends(self, section: str) -> array.array[int]:
        """Where each JSON row of the section ends in its joined text (the comma after it,
        or the end)."""
        if section in self._texts and section not in self._rows:
            text, ends = self._texts[section], array.array("I")
            find, at = text.find, text.find(b"\n")
            while at >= 0:  # a row's line ends where its comma will be
                ends.append(at)
                at = find(b"\n", at + 1)
            return ends
        rows = self.rows(section)
        return array.array("I", ((rows.str.len_bytes() + 1).cum_sum() - 1).to_list())

    def forget_joined(self) -> None:
        """Let go of the joined rows kept since the scorecard was saved (a holder that does
        not write them out)."""
        self._joined.clear()

    def _ends(self, section: str) -> array.array[int]:
        """Where each stored row of the section ends (the comma after it, or the end)."""
        ends = array.array("I", bytes(self._stored["parts"][f"{section}_ends"]))
        if sys.byteorder != "little":
            ends.byteswap()
        return ends

    def _text(self, section: str) -> list[bytes | memoryview]:
        """The section's JSON rows as stored, with the changed ones in place: in pieces to
        be written one after the other (the stored rows are not copied)."""
        text = self._stored["parts"][f"{section}_json"]
        changes = (self._changes or {}).get(section)
        if not changes:
            return [text]
        ends = self._ends(section)
        pieces, start = [], 0
        for number in sorted(changes):
            pieces += [text[start : ends[number - 1] + 1 if number else 0], changes[number]]
            start = ends[number]
        pieces.append(text[start:])
        return pieces

    def _frame(self, name: str, columns: Sequence[str] | None = None) -> pl.DataFrame:
        import polars as pl

        frame = pl.read_ipc(
            io.BytesIO(self._stored["parts"][name]),
            columns=None if columns is None else list(columns),
        )
        section = next((s for s, n in _ROWS.items() if n == name), None)
        if section is None or not self._patched or not self._patched["header"]["rows"][section]:
            return frame
        from lineofsight.services.snapshot_patch import replace_rows

        rows = pl.read_ipc(io.BytesIO(self._patched["parts"][name]))
        return replace_rows(frame, self._patched["header"]["rows"][section], rows)

    def with_patch(self, patch: bytes) -> Scorecard | None:
        """This scorecard (read back from the same scorecard saved in full, and patched no
        later) with the rows of a newer patch of it in place: none scored nor read again.
        Patches hold every row changed since the scorecard was saved in full, so the rows
        this one holds beyond the scorecard saved in full are all in the newer patch too."""
        patched = _parts(patch)
        if patched is None or not (self._stored or self._rows or self._texts):
            return None
        import polars as pl

        from lineofsight.engine.frames import FrameEvaluation
        from lineofsight.services.snapshot_patch import replace_rows

        ev = self.evaluation
        numbers = patched["header"]["rows"]
        frames = {}
        for section in SECTIONS:
            frame = getattr(ev, section)
            rows = pl.read_ipc(io.BytesIO(patched["parts"][_ROWS[section]]))
            frames[section] = (
                replace_rows(frame, numbers[section], rows) if numbers[section] else frame
            )
        ev = FrameEvaluation(self.as_of, frames["kpis"], frames["objectives"], frames["units"])
        if self._stored:  # the JSON rows: those stored, with the patch's in place
            card = Scorecard(
                self.as_of,
                None,
                self.defs,
                ev,
                self.inputs,
                stored=self._stored,
                labels=self.labels,
                patched=patched,
            )
        else:  # computed here and saved in full: the JSON rows it holds, the patch's in place
            texts: dict[str, pl.Series] = {}
            for section in SECTIONS:
                lines = bytes(patched["parts"][f"{section}_json"]).decode().split("\n")
                texts[section] = self.rows(section).clone()
                if numbers[section]:
                    texts[section] = texts[section].scatter(numbers[section], lines)
            card = Scorecard(self.as_of, texts, self.defs, ev, self.inputs, labels=self.labels)
        card.base = self.base
        return card

    def status_json(self) -> str:
        """The status JSON of the whole scorecard (as `shapes.status_json`)."""
        return self.status_json_bytes().decode()

    def status_json_bytes(self) -> bytes:
        """The status JSON of the whole scorecard, UTF-8 (written without decoding it)."""
        return b"".join(self.status_json_pieces())

    def status_json_pieces(self) -> list[bytes | memoryview]:
        """The status JSON of the whole scorecard, UTF-8, in pieces to be written one after
        the other: those of a scorecard read back are its stored rows, not copied."""
        return list(self.status_json_stream())

    def status_json_stream(self) -> Iterator[bytes | memoryview]:
        """`status_json_pieces`, each piece made when asked for (the rows of a scorecard
        computed here are joined by commas a few megabytes at a time: the pieces made can be
        written out meanwhile)."""
        head = f'{{"as_of": "{self.as_of.isoformat()}", "kpis": ['.encode()
        between = (b'], "objectives": [', b'], "units": [', b"]}")
        if not self._rows and "kpis_json" in self._stored.get("parts", {}):
            yield head
            for section, after in zip(SECTIONS, between, strict=True):
                yield from self._text(section)
                yield after
            return
        # As `shapes.status_document` writes it, from the joined rows `encode` saves too
        # (kept for it when it is still to be saved).
        keep = self.pending is not None
        yield head
        for section, after in zip(SECTIONS, between, strict=True):
            yield from self._joining(section, keep=keep)
            yield after


def encode(card: Scorecard) -> bytes:
    """A scorecard as bytes: a JSON header line, then each frame as Arrow IPC (LZ4: a fraction
    of the size, read back in milliseconds) and the JSON rows as text, one row a line."""
    return b"".join(encode_pieces(card))


def encode_pieces(card: Scorecard) -> list[bytes]:
    """What `encode` gives, in pieces to be written one after the other (tens of megabytes
    not copied into one)."""
    from lineofsight.services.snapshot_days import kpi_groups

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
    # The frames are encoded two at a time (Polars does it outside Python's lock) while this
    # thread finds where the JSON rows end.
    with ThreadPoolExecutor(max_workers=2) as pool:
        encoded = {
            name: pool.submit(_ipc, frame)
            for name, frame in frames.items()
            if not (name in _UNCHANGED and name in kept)
        }
        ends = {}
        for section in SECTIONS:
            # Where each row ends (the comma after it): a patch replaces rows without
            # splitting all.
            ends[section] = card.row_ends(section)
            if sys.byteorder != "little":
                ends[section].byteswap()
        groups = kpi_groups(defs.kpis, defs.calendar)
        for name in frames:
            parts.append(encoded[name].result() if name in encoded else bytes(kept[name]))
            sizes[name] = len(parts[-1])
    for section in SECTIONS:
        pieces = card.joined(section)
        parts += pieces
        sizes[f"{section}_json"] = sum(len(piece) for piece in pieces)
    for section in SECTIONS:
        parts.append(ends[section].tobytes())
        sizes[f"{section}_ends"] = len(parts[-1])
    header = {
        "format": FORMAT,
        "release": __version__,  # rows as this release writes them
        "sizes": sizes,
        "calendar": [defs.calendar.fiscal_year_start, defs.calendar.due_days],
        "scoring": [defs.scoring.green_at, defs.scoring.amber_at],
        "groups": groups,
    }
    return [json.dumps(header).encode() + b"\n", *parts]


# The rows of a computed scorecard are joined by commas this many bytes at a time (about).
_JOIN_PIECE = 4 << 20


def _joining_lines(text: bytes) -> Iterator[bytes]:
    """JSON rows given one a line (`text`, each row ending with a newline) joined by the
    commas between them, in pieces of about `_JOIN_PIECE` bytes (whole rows)."""
    start, end = 0, len(text) - 1  # the last row's newline is no comma
    while start < end:
        cut = text.find(b"\n", start + _JOIN_PIECE) if start + _JOIN_PIECE < end else -1
        stop = end if cut < 0 or cut >= end else cut + 1  # with the newline after the piece
        yield text[start:stop].replace(b"\n", b",")
        start = stop


def _ipc(frame: pl.DataFrame) -> bytes:
    """A frame as Arrow IPC, compressed with LZ4."""
    buffer = io.BytesIO()
    frame.write_ipc(buffer, compression="lz4")
    return buffer.getvalue()


def encode_patch(card: Scorecard) -> bytes:
    """The rows of a scorecard changed since it was saved in full (`card.changed`), as bytes
    laid out as `encode`'s: a JSON header line with each section's row numbers, then those
    rows of the engine's frames (Arrow IPC) and of the JSON (text, one row a line)."""
    assert card.changed is not None
    ev = card.evaluation
    frames = {"kpis": ev.kpis, "objectives": ev.objectives, "units": ev.units}
    numbers = {section: sorted(card.changed[section]) for section in SECTIONS}
    parts, sizes = [], {}
    for section in SECTIONS:
        buffer = io.BytesIO()
        frames[section][numbers[section]].write_ipc(buffer)
        parts.append(buffer.getvalue())
        sizes[_ROWS[section]] = len(parts[-1])
    for section in SECTIONS:
        changes = (card._changes or {})[section]
        parts.append(b"\n".join(changes[n] for n in numbers[section]))
        sizes[f"{section}_json"] = len(parts[-1])
    header = {"format": FORMAT, "release": __version__, "sizes": sizes, "rows": numbers}
    return json.dumps(header).encode() + b"\n" + b"".join(parts)


def decode(payload: bytes, as_of: dt.date, patch: bytes | None = None) -> Scorecard | None:
    """What `encode` wrote (its frames decoded when asked for), with the rows of the patch
    `encode_patch` wrote; None when another release wrote either."""
    stored = _parts(payload)
    patched = _parts(patch) if patch is not None else None
    if stored is None or (patch is not None and patched is None):
        return None
    return Scorecard(as_of, stored=stored, patched=patched)


def definitions_layout(pieces: list[bytes]) -> tuple[bytes, list[tuple[int, int]]]:
    """The definitions and labels of an encoded scorecard (`encode_pieces`), to be kept
    beside it (`store.scorecards.read_kept_definitions`): the header line of their own
    layout (`encode`'s, with only their frames) and where each of their frames lies in the
    pieces put together (nothing encoded again: the kept definitions are that header line,
    then those bytes)."""
    header = json.loads(pieces[0])
    where, at = {}, len(pieces[0])
    for name, piece in zip(header["sizes"], pieces[1:], strict=False):
        if name.endswith("_json"):
            break  # the frames come first, one piece each
        where[name] = (at, at + len(piece))
        at += len(piece)
    names = (*_DEFINITIONS, *_LABELS)
    kept = {
        "format": FORMAT,
        "release": __version__,
        "sizes": {name: where[name][1] - where[name][0] for name in names},
        "calendar": header["calendar"],
        "scoring": header["scoring"],
    }
    return json.dumps(kept).encode() + b"\n", [where[name] for name in names]


def decode_definitions(
    payload: bytes,
    then: Callable[[pl.DataFrame, m.Calendar], _T],
    reads: Sequence[str] | None = None,
) -> tuple[DefinitionFrames, Labels, _T] | None:
    """The definitions and labels kept as `definitions_layout` says, and what `then` gives
    from the KPIs' frame (only its columns `reads`, when given: a few of its columns are
    decoded in a fraction of the time) and the calendar, called as soon as they are decoded
    while the frames are (a read of the measurements: Polars and SQLite work outside Python's
    lock); None when another release wrote them."""
    stored = _parts(payload)
    if stored is None:
        return None
    card = Scorecard(dt.date.min, stored=stored)
    header = stored["header"]
    calendar = m.Calendar(*header["calendar"])
    names = [name for name in stored["parts"] if reads is not None or name != "kpis"]
    with ThreadPoolExecutor(max_workers=1) as pool:
        decoding = pool.submit(lambda: {name: card._frame(name) for name in names})
        kpis = card._frame("kpis", reads)
        given = then(kpis, calendar)
        frames = {"kpis": kpis, **decoding.result()}
    from lineofsight.engine.frames import DefinitionFrames
    from lineofsight.store.labels import Labels

    defs = DefinitionFrames(
        **{name: frames[name] for name in _DEFINITIONS},
        calendar=calendar,
        scoring=m.Scoring(*header["scoring"]),
    )
    return defs, Labels(*(frames[name] for name in _LABELS)), given


def _parts(payload: bytes) -> dict[str, Any] | None:
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
    return {"header": header, "parts": parts}


__all__ = [
    "FORMAT",
    "PATCH_SHARE",
    "SECTIONS",
    "Scorecard",
    "decode",
    "decode_definitions",
    "definitions_layout",
    "encode",
    "encode_patch",
    "encode_pieces",
]

"""Turn catalogue entries into strategy-file KPIs and write them into the file's text.

The new items are inserted as text at the end of the file's `kpis:` list, so that every other
byte of the file (comments, order, quoting, blank lines) stays as the user wrote it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from lineofsight.domain.formula import references
from lineofsight.domain.model import Frequency
from lineofsight.domain.periods import Grain, grain_of
from lineofsight.library.catalogue import Catalogue
from lineofsight.library.model import Entry


def formula_inputs(catalogue: Catalogue, kpi_id: str) -> list[str]:
    """Every catalogue KPI a formula reads, directly or through other formulas, in order."""
    order: list[str] = []

    def walk(current: str) -> None:
        for link in catalogue.drivers_of(current):
            if link.via == "formula" and link.kpi not in order and link.kpi != kpi_id:
                order.append(link.kpi)
                walk(link.kpi)

    walk(kpi_id)
    return order


@dataclass(frozen=True)
class InputDirection:
    """The direction an added formula input gets, and why when it is not the catalogue's."""

    direction: str
    reason: str | None = None  # set when it differs from the catalogue's direction
    conflict: str | None = None  # set when two formulas need opposite moves of the input


_SIGNS = {"increase": 1, "decrease": -1}


def input_directions(
    catalogue: Catalogue, kpi_id: str, added: Sequence[str]
) -> dict[str, InputDirection]:
    """The direction each added formula input needs so that improving it improves its readers.

    The catalogue gives every KPI the direction its own owner wants (headcount to increase),
    but as the input of a formula the direction that matters is the one that moves the
    formula KPI the right way (headcount under revenue per employee must fall). For each
    input in `added` (the inputs of `kpi_id`'s formulas that the strategy lacks) it is the
    reading KPI's direction times the sign of the formula's partial derivative for the
    input at 1 for every input, as the CF01 check rule computes it for KPIs without targets
    or data. Readers are settled before their inputs, so a nested formula passes its own
    derived direction down. The catalogue's direction stays when the sign is unknown, when
    the reader has a range, when the input has a range, or when two readers want opposite
    moves (then `los check` reports the conflict, which is a real one).
    """
    nodes = [kpi_id, *added]
    present = set(nodes)
    reads: dict[str, list[tuple[str, int]]] = {
        node: [
            (link.kpi, link.sign)
            for link in catalogue.drivers_of(node)
            if link.via == "formula" and link.kpi in present and link.kpi != node
        ]
        for node in nodes
    }
    readers: dict[str, list[tuple[str, int]]] = {node: [] for node in nodes}
    for reader, links in reads.items():
        for input_id, sign in links:
            readers[input_id].append((reader, sign))
    # Kahn's order over the formula graph (acyclic: the catalogue's tests hold it so).
    waiting = {node: len(readers[node]) for node in nodes}
    ready = [node for node in nodes if waiting[node] == 0]
    order: list[str] = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for input_id, _ in reads[node]:
            waiting[input_id] -= 1
            if waiting[input_id] == 0:
                ready.append(input_id)
    direction: dict[str, str] = {kpi_id: catalogue.by_id[kpi_id].direction}
    chosen: dict[str, InputDirection] = {}
    for node in order:
        if node == kpi_id:
            continue
        usual = catalogue.by_id[node].direction
        chosen[node] = _direction_for(catalogue, node, usual, readers[node], direction)
        direction[node] = chosen[node].direction
    for node in added:  # only in a catalogue with a formula cycle: keep the catalogue's
        chosen.setdefault(node, InputDirection(catalogue.by_id[node].direction))
    return chosen


def _direction_for(
    catalogue: Catalogue,
    node: str,
    usual: str,
    readers: list[tuple[str, int]],
    direction: Mapping[str, str],
) -> InputDirection:
    if usual not in _SIGNS:
        return InputDirection(usual)  # a range input keeps its range
    wanted: dict[int, tuple[str, int]] = {}
    for reader, sign in readers:
        own = _SIGNS.get(direction.get(reader, ""))
        if own is not None and sign != 0:
            wanted.setdefault(own * sign, (reader, sign))

    def formula(reader: str) -> str:
        return f"'{reader}' = {' '.join((catalogue.by_id[reader].measure.formula or '').split())}"

    if not wanted:
        return InputDirection(usual)
    if len(wanted) > 1:
        # Each formula is checked on its own, so no direction satisfies both readers.
        needs = [
            f"{formula(reader)} needs it to {'increase' if move > 0 else 'decrease'}"
            for move, (reader, _) in sorted(wanted.items(), reverse=True)
        ]
        return InputDirection(usual, conflict=", ".join(needs))
    move, (reader, sign) = next(iter(wanted.items()))
    derived = "increase" if move > 0 else "decrease"
    if derived == usual:
        return InputDirection(derived)
    effect = "raises" if sign > 0 else "lowers"
    return InputDirection(
        derived, f"raising it {effect} {formula(reader)}, which is to {direction[reader]}"
    )


def formula_frequencies(
    catalogue: Catalogue, added: Sequence[str], strategy: Mapping[str, str]
) -> dict[str, tuple[str, str | None]]:
    """The frequency each added KPI gets, and the input that made it coarser than the
    catalogue's when it did.

    A formula KPI finer than one of its inputs would never have a value (inputs are
    aggregated up to the formula's frequency, never split down), so an added formula is made
    as coarse as its coarsest input: an input the strategy has already (`strategy`: id to
    frequency) keeps its frequency, an added one gets its own by the same rule.
    """
    chosen: dict[str, tuple[str, str | None]] = {}

    def frequency_of(kpi_id: str) -> str:
        if kpi_id in strategy:
            return strategy[kpi_id]
        if kpi_id not in chosen:
            found: tuple[str, str | None] = (catalogue.by_id[kpi_id].frequency, None)
            expr = catalogue.formulas.get(kpi_id)
            for ref in sorted(references(expr)) if expr is not None else ():
                if ref in strategy or ref in catalogue.by_id:
                    frequency = frequency_of(ref)
                    if _grain(frequency) > _grain(found[0]):
                        found = (frequency, ref)
            chosen[kpi_id] = found
        return chosen[kpi_id][0]

    for kpi_id in added:
        frequency_of(kpi_id)
    return {kpi_id: chosen[kpi_id] for kpi_id in added}


def _grain(frequency: str) -> Grain:
    return grain_of(Frequency(frequency))


def kpi_item(
    entry: Entry,
    *,
    unit: str,
    owner: str,
    level: str | None = None,
    supports: str | None = None,
    direction: str | None = None,
    frequency: str | None = None,
) -> dict[str, Any]:
    """The strategy file's KPI item for a catalogue entry, owned and placed in a unit.

    `direction` replaces the catalogue's increase or decrease (a range stays a range);
    `frequency` the catalogue's frequency.
    """
    description = " ".join(entry.description.split())
    if entry.measure.method is not None:
        method = " ".join(entry.measure.method.split())
        description += " Measured as: " + method + ("" if method.endswith(".") else ".")
    item: dict[str, Any] = {
        "id": entry.id,
        "name": entry.name,
        "description": description,
        "unit_of_measure": entry.unit_of_measure,
        "level": level or entry.level,
        "type": entry.type,
        "unit": unit,
        "owner": owner,
        "frequency": frequency or entry.frequency,
        "direction": entry.direction if entry.range is not None else direction or entry.direction,
    }
    if entry.range is not None:
        item["range"] = {"low": entry.range.low, "high": entry.range.high}
    item["aggregation"] = entry.aggregation
    if entry.measure.formula is not None:
        item["formula"] = " ".join(entry.measure.formula.split())
    elif entry.measure.ratio is not None:
        ratio = entry.measure.ratio
        item["ratio"] = {"numerator": ratio.numerator, "denominator": ratio.denominator}
        if ratio.scale != 1:
            item["ratio"]["scale"] = ratio.scale
    if supports is not None:
        item["supports"] = [{"objective": supports}]
    return item


# ------------------------------------------------------------------------------- YAML text


def _plain_ok(text: str) -> bool:
    if not text or text != text.strip() or "\n" in text or text[0] in "[]{},#&*!|>'\"%@`-?:":
        return False
    if ": " in text or " #" in text or text.endswith(":"):
        return False
    try:
        return bool(yaml.safe_load(f"k: {text}") == {"k": text})
    except yaml.YAMLError:
        return False


def flow(value: Any, nested: bool = False) -> str:
    """A value as one line of YAML flow text (`nested`: inside a flow list or mapping)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value):
            return str(int(value))
        return repr(value)
    if isinstance(value, str):
        plain = _plain_ok(value) and not (nested and any(ch in value for ch in ",[]{}"))
        return value if plain else json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key}: {flow(item, True)}" for key, item in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(flow(item, True) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def item_text(item: Mapping[str, Any], indent: int) -> list[str]:
    """The lines of one list item: `- id: ...` at `indent`, its keys two spaces further in."""
    pad = " " * indent
    lines: list[str] = []
    for index, (key, value) in enumerate(item.items()):
        lead = f"{pad}- " if index == 0 else f"{pad}  "
        lines.append(f"{lead}{key}: {flow(value)}")
    return lines


_TOP_KEY = re.compile(r"^[A-Za-z_\"'][^#]*:(\s|$)")
_KPIS = re.compile(r"^kpis\s*:\s*(#.*)?$")
_KPIS_ANY = re.compile(r"^kpis\s*:(.*)$")


class NotInsertable(ValueError):
    """The file's `kpis:` is written in a way text insertion does not handle (a flow list)."""


def insert_kpis(text: str, items: Sequence[Mapping[str, Any]]) -> str:
    """The file's text with the items appended to its top-level `kpis:` list."""
    lines = text.splitlines()
    newline = "\r\n" if "\r\n" in text else "\n"
    start = next((i for i, line in enumerate(lines) if _KPIS_ANY.match(line)), None)
    if start is None:
        tail = ["", "kpis:"]
        for item in items:
            tail += item_text(item, 2)
        body = text.rstrip("\r\n")
        return body + newline + newline.join(tail) + newline
    rest = _KPIS_ANY.match(lines[start]).group(1).split("#")[0].strip()  # type: ignore[union-attr]
    if rest in ("[]", "~", "null"):
        lines[start] = "kpis:"  # an empty list becomes a block list with the new items
    elif not _KPIS.match(lines[start]):
        raise NotInsertable("the file's kpis: is written as a flow list [...]")
    end = len(lines)
    for index in range(start + 1, len(lines)):
        if _TOP_KEY.match(lines[index]) and not lines[index].startswith("-"):
            end = index
            break
    # Blank lines and comments just above the next section belong to that section.
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1
    indent = 2
    spaced = False
    for index in range(start + 1, end):
        match = re.match(r"^(\s*)- ", lines[index])
        if match:
            indent = len(match.group(1))
            break
    # Keep the file's habit: a blank line between items if its items have one.
    dashes = [i for i in range(start + 1, end) if re.match(rf"^ {{{indent}}}- ", lines[i])]
    if len(dashes) >= 2:
        spaced = not lines[dashes[1] - 1].strip()
    block: list[str] = []
    for item in items:
        if spaced and (block or end > start + 1):
            block.append("")
        block += item_text(item, indent)
    result = lines[:end] + block + lines[end:]
    return newline.join(result) + (newline if text.endswith(("\n", "\r")) else "")

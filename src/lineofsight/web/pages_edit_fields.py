"""The fields of the browser's forms for units, people, objectives and KPIs, and how each one's
text becomes the strategy file's value and back.

The form only turns text into the file's shape; it judges nothing. Text that is not what a
field holds (a weight of `lots`) is passed on as it is, so that the strategy file's own
validation names the problem with every other one at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lineofsight.domain import model as m

Plain = dict[str, Any]


@dataclass(frozen=True)
class Field:
    """One box of a form: `name` is the strategy file's key (`target.value`: a key inside
    one), `kind` how its text is read."""

    name: str
    label: str
    # text | textarea | number | choice | ids | supports | contributes | periods | unit_targets
    kind: str = "text"
    hint: str = ""
    choices: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The item's key a problem names (`target` for `target.value`)."""
        return self.name.split(".")[0]

    @property
    def html_id(self) -> str:
        return "f-" + self.name.replace(".", "-")


def _values(enum: Any) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


ID_HINT = "Lower-case letters, digits and _; unique across the whole strategy."
LEVELS = _values(m.Level)

FIELDS: dict[str, tuple[Field, ...]] = {
    "unit": (
        Field("id", "Id", hint=ID_HINT),
        Field("name", "Name"),
        Field("level", "Level", hint="company, department, team, ..."),
        Field("parent", "Parent unit", hint="The id of the unit above; empty for the top."),
        Field("lead", "Lead", hint="The id of the person who leads the unit."),
    ),
    "person": (
        Field("id", "Id", hint=ID_HINT),
        Field("name", "Name"),
        Field("unit", "Unit", hint="The id of the person's unit."),
        Field("title", "Title"),
        Field("email", "Email"),
    ),
    "objective": (
        Field("id", "Id", hint=ID_HINT),
        Field("title", "Title"),
        Field("level", "Level", "choice", choices=LEVELS),
        Field("unit", "Unit", hint="The id of the unit that holds it."),
        Field("owner", "Owner", hint="The id of the person who owns it."),
        Field("parent", "Parent objective", hint="The id of the objective this one serves."),
        Field("weight", "Weight", "number", hint="Weight in the parent's score; default 1."),
        Field("perspective", "Perspective", "choice", choices=_values(m.Perspective)),
        Field("description", "Description", "textarea"),
        Field("start", "Start", hint="A date: 2026-01-01."),
        Field("deadline", "Deadline", hint="A date: 2027-12-31."),
        Field("status", "Status", "choice", choices=_values(m.ObjectiveStatus)),
    ),
    "kpi": (
        Field("id", "Id", hint=ID_HINT),
        Field("name", "Name"),
        Field("description", "Description", "textarea"),
        Field("unit_of_measure", "Unit of measure", hint="points, %, days, EUR, ..."),
        Field("level", "Level", "choice", choices=LEVELS),
        Field("type", "Type", "choice", choices=_values(m.KpiType)),
        Field("unit", "Unit", hint="The id of the unit that holds it."),
        Field("owner", "Owner", hint="The id of the person who enters its values."),
        Field("frequency", "Frequency", "choice", choices=_values(m.Frequency)),
        Field("direction", "Direction", "choice", choices=_values(m.Direction)),
        Field(
            "range.low",
            "Range low",
            "number",
            hint="Direction range only: the lowest value that is on track.",
        ),
        Field(
            "range.high",
            "Range high",
            "number",
            hint="Direction range only: the highest value that is on track.",
        ),
        Field("aggregation", "Aggregation", "choice", choices=_values(m.Aggregation)),
        Field(
            "supports",
            "Supports objectives",
            "supports",
            hint="Objective ids, comma-separated; a weight after a colon: grow:2, sell_more.",
        ),
        Field(
            "contributes_to",
            "Contributes to KPIs",
            "contributes",
            hint="KPI ids, comma-separated; weight and effect after colons: revenue:1:negative.",
        ),
        Field("influences", "Influences KPIs", "ids", hint="KPI ids, comma-separated."),
        Field("formula", "Formula", hint="KPI ids, numbers, + - * /, min(), max(), abs()."),
        Field("target.value", "Target value", "number"),
        Field("target.by", "Target date", hint="The date the target is due: 2027-12-31."),
        Field("baseline.period", "Baseline period", hint="2025-Q4, 2025-12, ..."),
        Field("baseline.value", "Baseline value", "number"),
        Field(
            "targets",
            "Targets per period",
            "periods",
            hint="Overrides of the glide path: 2026-Q1: 33, 2026-Q2: 36.",
        ),
        Field(
            "unit_targets",
            "Unit targets",
            "unit_targets",
            hint="One line per unit: UNIT: VALUE by DATE, then optionally ; baseline PERIOD = "
            "VALUE and ; PERIOD = VALUE, ... (its own glide path): "
            "sales_east: 60 by 2026-12-31; baseline 2025-12 = 40; 2026-06 = 50.",
        ),
        Field("tolerance", "Tolerance", "number", hint="Amber band, a fraction of the target."),
        Field("tolerance_abs", "Tolerance (absolute)", "number", hint="Or the band in units."),
        Field("due_days", "Due days", "number", hint="Days after a period ends its value is due."),
    ),
}


def _number(text: str) -> Any:
    """A number where the text is one (an integer as an integer), else the text itself."""
    cleaned = text.strip()  # `2,5` stays text, refused by the file's checks: never 25
    try:
        value = float(cleaned)
    except ValueError:
        return text.strip()
    return int(value) if value.is_integer() and "." not in cleaned else value


def _parts(text: str) -> list[list[str]]:
    return [[bit.strip() for bit in part.split(":")] for part in text.split(",") if part.strip()]


def _read(field: Field, text: str) -> Any:
    """The strategy file's value of a field's text (None: the key is left out)."""
    if not text.strip():
        return None
    if field.kind == "number":
        return _number(text)
    if field.kind == "ids":
        return [part[0] for part in _parts(text)]
    if field.kind == "supports":
        return [
            {"objective": p[0], **({"weight": _number(p[1])} if len(p) > 1 else {})}
            for p in _parts(text)
        ]
    if field.kind == "contributes":
        found = []
        for p in _parts(text):
            item: Plain = {"kpi": p[0]}
            if len(p) > 1 and p[1]:
                item["weight"] = _number(p[1])
            if len(p) > 2 and p[2]:
                item["effect"] = p[2]
            found.append(item)
        return found
    if field.kind == "periods":
        pairs: Plain = {}
        for part in text.split(","):
            period, _, value = part.partition(":")
            if period.strip():
                pairs[period.strip()] = _number(value)
        return pairs
    if field.kind == "unit_targets":
        return _unit_targets(text)
    if field.kind == "textarea":
        return text.strip().replace("\r\n", "\n")
    return text.strip()


def _pairs(text: str, sep: str = "=") -> Plain:
    """`2026-Q1 = 33, 2026-Q2 = 36` as a mapping of period to value."""
    pairs: Plain = {}
    for part in text.split(","):
        key, _, value = part.partition(sep)
        if key.strip():
            pairs[key.strip()] = _number(value)
    return pairs


def _unit_targets(text: str) -> Plain:
    """One line per unit, `UNIT: VALUE by DATE; baseline PERIOD = VALUE; PERIOD = VALUE, ...`,
    as the strategy file's `unit_targets`. A line that is not of this shape is passed on
    as written (the unit's entry is its text), for the file's validation to name."""
    found: Plain = {}
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            continue
        unit, colon, rest = line.partition(":")
        if not colon:
            found[line.strip()] = line.strip()
            continue
        head, *tails = rest.split(";")
        value, by_word, by = head.partition(" by ")
        entry: Plain = {"value": _number(value)}
        if by_word:
            entry["by"] = by.strip()
        for tail in tails:
            words = tail.strip()
            if words.startswith("baseline"):
                period, _, base = words.removeprefix("baseline").partition("=")
                entry["baseline"] = {"period": period.strip(), "value": _number(base)}
            elif words:
                entry.setdefault("targets", {}).update(_pairs(words))
        found[unit.strip()] = entry
    return found


def item_from_form(kind: str, form: dict[str, str], start: Plain | None) -> Plain:
    """The item as the strategy file writes it: `start` (the stored item, keeping what the
    form does not show) with every field of the form put in (a KPI's range only when its
    direction is range)."""
    item: Plain = dict(start or {})
    for field in FIELDS[kind]:
        value = _read(field, form.get(field.name, ""))
        head, _, tail = field.name.partition(".")
        if not tail:
            if value is None:
                item.pop(head, None)
            else:
                item[head] = value
            continue
        inner = dict(item.get(head) or {})
        if value is None:
            inner.pop(tail, None)
        else:
            inner[tail] = value
        if inner:
            item[head] = inner
        else:
            item.pop(head, None)
    if kind == "kpi" and item.get("direction") != "range":
        # The range boxes are on the form whatever the direction: only direction range has one.
        item.pop("range", None)
    ordered = {"id": item.pop("id", "")}
    ordered.update(item)
    return ordered


def _text(field: Field, value: Any) -> str:
    if value is None:
        return ""
    if field.kind == "ids":
        return ", ".join(str(v) for v in value)
    if field.kind == "supports":
        return ", ".join(
            s["objective"] + (f":{_shown(s['weight'])}" if "weight" in s else "") for s in value
        )
    if field.kind == "contributes":
        parts = []
        for c in value:
            text = c["kpi"]
            if "weight" in c or "effect" in c:
                text += f":{_shown(c.get('weight', 1))}"
            if "effect" in c:
                text += f":{c['effect']}"
            parts.append(text)
        return ", ".join(parts)
    if field.kind == "periods":
        return ", ".join(f"{period}: {_shown(v)}" for period, v in value.items())
    if field.kind == "unit_targets":
        return "\n".join(_unit_target_line(unit, t) for unit, t in value.items())
    return _shown(value)


def _unit_target_line(unit: str, target: Any) -> str:
    """One unit target as the form writes it (see `_unit_targets`)."""
    if not isinstance(target, dict):
        return f"{unit}: {_shown(target)}"
    line = f"{unit}: {_shown(target.get('value', ''))}"
    if "by" in target:
        line += f" by {target['by']}"
    base = target.get("baseline")
    if isinstance(base, dict):
        line += f"; baseline {base.get('period', '')} = {_shown(base.get('value', ''))}"
    periods = target.get("targets") or {}
    if periods:
        line += "; " + ", ".join(f"{p} = {_shown(v)}" for p, v in periods.items())
    return line


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def form_from_item(kind: str, item: Plain | None) -> dict[str, str]:
    """The form's text of each field, from the item as the strategy file writes it."""
    form: dict[str, str] = {}
    for field in FIELDS[kind]:
        head, _, tail = field.name.partition(".")
        value = (item or {}).get(head)
        if tail:
            value = value.get(tail) if isinstance(value, dict) else None
        form[field.name] = _text(field, value)
    return form

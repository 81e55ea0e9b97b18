"""An explained change as text for people (rich markup, user text escaped) and JSON for programs."""

from __future__ import annotations

import json
import math

from rich.markup import escape

from lineofsight.display import human
from lineofsight.domain import model as m
from lineofsight.engine.explain import Explanation, Method
from lineofsight.services.explain import ExplainResult
from lineofsight.services.shapes import explanation_plain, residual

BAR_WIDTH = 20


def explain_json(result: ExplainResult) -> str:
    """`{"kpi", "from": {"period", "value"}, "to", "change", "contributions", "residual"}`."""
    return json.dumps(explanation_plain(result.explanation), indent=2, ensure_ascii=False) + "\n"


def explain_text(result: ExplainResult) -> list[str]:
    """Header, the two values and the change, then one line per contribution with a bar."""
    e = result.explanation
    kpi = result.org.kpi(e.kpi)
    assert kpi is not None
    measure = f", {escape(kpi.unit_of_measure)}" if kpi.unit_of_measure else ""
    where = "" if e.unit == kpi.unit else f" at {escape(e.unit)}"
    lines = [
        f"[bold]{escape(e.kpi)}[/] ({escape(kpi.name)}){where}{measure}",
        f"  {e.from_period.label:<12} {_number(e.from_value)}",
        f"  {e.to_period.label:<12} {_number(e.to_value)}",
        f"  {'change':<12} {_colour(kpi, e.change, _signed(e.change))}",
    ]
    lines.append(_method_line(e))
    if e.contributions:
        if _has_breakdown(e):
            lines.append(
                "  [dim]Indented lines split an input's own change (from → to), which equals its "
                "contribution only in a sum or difference.[/]"
            )
        lines.extend(_contribution_lines(e, kpi, result.org, 1))
        lines.append(_residual_line(e, 1))
    return lines


def _method_line(e: Explanation) -> str:
    if e.method is Method.MEASURED:
        return "Measured directly: no breakdown (the residual is the whole change)."
    if e.method is Method.FORMULA:
        return (
            f"Split over the inputs of {escape(e.formula or '')} "
            "(Shapley values; they add up to the change):"
        )
    across = e.across.value if e.across is not None else "sum"
    if e.exact:
        return f"Split over the child units ({across} across units: each unit's own change):"
    if e.own_value:
        why = "the unit's own recorded value is used, not one derived from its child units"
    else:
        why = f"with {across} across units the units' changes do not add up to the change"
    return f"Each child unit's own change ({why}; the residual is what they leave):"


def _has_breakdown(e: Explanation) -> bool:
    return any(c.breakdown is not None for c in e.contributions)


def _contribution_lines(e: Explanation, kpi: m.Kpi, org: m.Organization, level: int) -> list[str]:
    indent = "  " * level
    labels = [c.id for c in e.contributions]
    width = max(len(label) for label in labels)
    numbers = [_signed(c.contribution) for c in e.contributions]
    number_width = max(len(n) for n in numbers)
    largest = max(abs(c.contribution) for c in e.contributions)
    lines = []
    for c, number in zip(e.contributions, numbers, strict=True):
        size = round(BAR_WIDTH * abs(c.contribution) / largest) if largest > 0 else 0
        bar = "█" * size if size else ("▏" if c.contribution else "")
        values = ""
        if c.from_value is not None or c.to_value is not None:
            values = f"  {_number(c.from_value)} → {_number(c.to_value)}"
        amount = _colour(kpi, c.contribution, f"{number:>{number_width}}")
        bar_text = _colour(kpi, c.contribution, f"{bar:<{BAR_WIDTH}}")
        lines.append(f"{indent}{escape(c.id):<{width}}  {amount}  {bar_text}{values}")
        nested = c.breakdown
        if nested is not None:
            inner = org.kpi(nested.kpi) or kpi
            lines.extend(_contribution_lines(nested, inner, org, level + 2))
            if not nested.exact or residual(nested) != 0:
                lines.append(_residual_line(nested, level + 2))
    return lines


def _residual_line(e: Explanation, level: int) -> str:
    left = residual(e)
    text = f"{'  ' * level}residual {_signed(left) if left else '0'}"
    if e.exact:
        return text + " [dim](the contributions add up to the change)[/]"
    return text


def _colour(kpi: m.Kpi, amount: float, text: str) -> str:
    """Green when the amount moves the KPI its good way, red when the other way."""
    if amount == 0 or kpi.direction is m.Direction.RANGE:
        return text
    good = (amount > 0) == (kpi.direction is m.Direction.INCREASE)
    return f"[{'green' if good else 'red'}]{text}[/]"


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    if value == 0 or abs(value) >= 0.01 or not math.isfinite(value):
        return f"{value:,.2f}"
    return human(value, 2)  # a small amount: 0.0012, never 1.2e-05


def _signed(value: float) -> str:
    text = _number(value)
    return text if text.startswith("-") or value == 0 else "+" + text

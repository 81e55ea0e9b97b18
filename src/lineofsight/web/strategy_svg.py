"""The visual strategy map: the map's objectives drawn server-side as SVG, by level (rows) and
balanced-scorecard perspective (columns), a line from each objective to the objectives below
it, each box in its status colour with the status also written (icon, word, score), and each
box a link to the objective's page (the period kept). No script: it shows the same without
JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from markupsafe import Markup

from lineofsight import display
from lineofsight.domain.model import Level, Perspective
from lineofsight.domain.text import plural
from lineofsight.web.pagedata import Snapshot
from lineofsight.web.templating import STATUS_ICON, STATUS_WORD

# Past this many objectives a drawing is no longer readable: the outline alone is shown.
MAX_BOXES = 60

BOX_W, BOX_H, GAP, PAD, HEAD, LABEL_W = 180, 52, 10, 12, 26, 92
TITLE_CHARS = 28


class MapNode(Protocol):
    """What the drawing reads of a strategy map node (pages_overview.Node)."""

    kind: str
    id: str
    repeat: bool

    @property
    def children(self) -> Iterable[MapNode]: ...


def _objectives(nodes: Iterable[MapNode]) -> list[str]:
    """The objective ids drawn on the outline, top down, each once."""
    found: list[str] = []
    seen: set[str] = set()

    def walk(items: Iterable[MapNode]) -> None:
        for node in items:
            if node.kind == "objective" and not node.repeat and node.id not in seen:
                seen.add(node.id)
                found.append(node.id)
                walk(node.children)

    walk(nodes)
    return found


def _short(text: str, size: int = TITLE_CHARS) -> str:
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"


def strategy_svg(
    snap: Snapshot, nodes: Iterable[MapNode], href: Callable[[str], str] | None = None
) -> Markup:
    """The SVG drawing of the objectives among `nodes` (empty when there are none, or a
    sentence when there are too many to draw); `href(objective_id)` is where a box leads
    (default: the objective on the outline beside it)."""
    ids = _objectives(nodes)
    if not ids:
        return Markup("")
    if len(ids) > MAX_BOXES:
        return Markup(
            '<p class="hint" id="svgmap-note">{0} objectives are too many to draw: the outline '
            "lists them all. Choose a unit to draw its part.</p>"
        ).format(len(ids))
    objectives = [snap.objectives[i] for i in ids]
    levels = [lv for lv in Level if any(o.level is lv for o in objectives)]
    columns: list[Perspective | None] = [
        p for p in Perspective if any(o.perspective is p for o in objectives)
    ]
    if any(o.perspective is None for o in objectives):
        columns.append(None)
    cells: dict[tuple[Level, Perspective | None], list[str]] = {}
    for o in objectives:
        cells.setdefault((o.level, o.perspective), []).append(o.id)
    heights = {
        lv: max(len(cells.get((lv, p), ())) for p in columns) * (BOX_H + GAP) + GAP for lv in levels
    }
    width = LABEL_W + len(columns) * (BOX_W + 2 * PAD)
    height = HEAD + sum(heights.values())
    where: dict[str, tuple[float, float]] = {}
    parts: list[Markup] = []
    y0 = HEAD
    for lv in levels:
        parts.append(
            Markup('<text class="lvl" x="6" y="{0}">{1}</text>').format(
                y0 + heights[lv] / 2, lv.value
            )
        )
        parts.append(
            Markup('<line class="band" x1="0" x2="{0}" y1="{1}" y2="{1}"/>').format(width, y0)
        )
        for c, perspective in enumerate(columns):
            x = LABEL_W + c * (BOX_W + 2 * PAD) + PAD
            for n, objective_id in enumerate(cells.get((lv, perspective), ())):
                y = y0 + GAP + n * (BOX_H + GAP)
                where[objective_id] = (x, y)
                link = href(objective_id) if href else f"#objective-{objective_id}"
                parts.append(_box(snap, objective_id, x, y, link))
        y0 += heights[lv]
    heads = [
        Markup('<text class="persp" x="{0}" y="17">{1}</text>').format(
            LABEL_W + c * (BOX_W + 2 * PAD) + PAD, p.value if p is not None else "other"
        )
        for c, p in enumerate(columns)
    ]
    lines = []
    for o in objectives:
        if o.parent in where and o.id in where:
            px, py = where[o.parent]
            cx, cy = where[o.id]
            lines.append(
                Markup('<line class="link" x1="{0}" y1="{1}" x2="{2}" y2="{3}"/>').format(
                    px + BOX_W / 2, py + BOX_H, cx + BOX_W / 2, cy
                )
            )
    return Markup(
        '<svg class="svgmap" id="svgmap" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'role="group" aria-labelledby="svgmap-title svgmap-desc">'
        '<title id="svgmap-title">Strategy map: {n} by level and perspective</title>'
        '<desc id="svgmap-desc">Each box is an objective with its status and score; lines '
        "join an objective to the objectives below it. The outline beside lists the same."
        "</desc>{heads}{lines}{parts}</svg>"
    ).format(
        w=width,
        h=height,
        n=plural(len(objectives), "objective"),
        heads=Markup("").join(heads),
        lines=Markup("").join(lines),
        parts=Markup("").join(parts),
    )


def _box(snap: Snapshot, objective_id: str, x: float, y: float, href: str) -> Markup:
    """One objective: a link around a box in its status colour, title, status and score."""
    objective = snap.objectives[objective_id]
    row = snap.objective_rows.get(objective_id)
    status = row.status if row is not None and row.status in STATUS_WORD else "no_data"
    score = f" {display.score(row.score)}" if row is not None and row.score is not None else ""
    red = row.counts.get("red", 0) if row is not None and row.counts else 0
    held = f" · {red} red" if red and status != "red" else ""
    label = f"{objective.title}: {STATUS_WORD[status]}{score}"
    if row is not None and row.items:
        label += f" ({row.items})"
    return Markup(
        '<a href="{href}" class="s-{status}">'
        "<title>{label}</title>"
        '<rect x="{x}" y="{y}" width="{bw}" height="{bh}" rx="5"/>'
        '<text x="{tx}" y="{ty1}" class="t">{title}</text>'
        '<text x="{tx}" y="{ty2}" class="st">{icon} {word}{score}{held}</text></a>'
    ).format(
        href=href,
        label=label,
        status=status,
        x=x,
        y=y,
        bw=BOX_W,
        bh=BOX_H,
        tx=x + 8,
        ty1=y + 20,
        ty2=y + 40,
        title=_short(objective.title),
        icon=STATUS_ICON[status],
        word=STATUS_WORD[status],
        score=score,
        held=held,
    )

"""The catalogue KPIs that drive a KPI, one or two levels down, and how each must move."""

from __future__ import annotations

from dataclasses import dataclass

from lineofsight.library.catalogue import Catalogue


@dataclass(frozen=True)
class SuggestedDriver:
    """A catalogue KPI that could cascade under a strategy KPI, and how it must move."""

    id: str
    name: str
    function: str
    via: str  # formula or driver
    depth: int  # 1: drives the KPI directly; 2: drives one of those
    through: str | None  # at depth 2, the driver it acts through
    move: str  # increase, decrease, or a note when the sense cannot be told
    in_strategy: bool  # a KPI with this id is in the strategy already
    usual_direction: str  # the catalogue's direction for the driver itself
    against_usual: bool  # the move needed is the opposite of that (a trade-off to weigh)


def move_for(direction: str, sign: int) -> str:
    """How a driver must move for a KPI with this direction to improve, given its effect."""
    if direction == "range":
        return "hold within the KPI's range"
    if sign == 0:
        return "depends on the values (check the formula)"
    wanted = 1 if direction == "increase" else -1
    return "increase" if wanted * sign > 0 else "decrease"


def cascade(
    catalogue: Catalogue, kpi_id: str, direction: str, depth: int, in_strategy: set[str]
) -> list[SuggestedDriver]:
    """The drivers of an entry (and, at depth 2, theirs), each once, nearest first.

    The effect of a driver two levels down is the product of the two links' signs; the
    direction it must move follows from the KPI's own direction.
    """
    found: dict[str, SuggestedDriver] = {}

    def visit(parent: str, sign: int, level: int, through: str | None) -> None:
        links = catalogue.drivers_of(parent)
        for link in links:
            if link.kpi == kpi_id or link.kpi in found:
                continue
            driver = catalogue.by_id[link.kpi]
            move = move_for(direction, sign * link.sign)
            found[link.kpi] = SuggestedDriver(
                id=driver.id,
                name=driver.name,
                function=driver.function,
                via=link.via,
                depth=level,
                through=through,
                move=move,
                in_strategy=driver.id in in_strategy,
                usual_direction=driver.direction,
                against_usual={move, driver.direction} == {"increase", "decrease"},
            )
        if level < depth:
            for link in links:
                below = found.get(link.kpi)
                if below is not None and below.depth == level and below.through == through:
                    visit(link.kpi, sign * link.sign, level + 1, link.kpi)

    visit(kpi_id, 1, 1, None)
    return list(found.values())

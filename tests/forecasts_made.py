"""A count of the forecasts the attention lists make, for tests that check one is made, or
is not (kept, or made in a second process)."""

from __future__ import annotations

import pytest


def forecasts_made(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The KPIs of each forecast the attention lists make from now on (None: the whole
    organisation's), in the order made."""
    from lineofsight.services import attention_forecast

    made: list[object] = []
    forecast = attention_forecast._forecast

    def counted(*args: object, **kwargs: object) -> object:
        made.append(args[3])
        return forecast(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(attention_forecast, "_forecast", counted)
    return made

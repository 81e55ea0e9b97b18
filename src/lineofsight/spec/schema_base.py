"""What every model of the strategy file shares: its base class, ids and text."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

ID_PATTERN = r"^[a-z][a-z0-9_]*$"

Id = Annotated[
    str,
    StringConstraints(pattern=ID_PATTERN),
    Field(description="Lower-case id, unique across the whole file (letters, digits, _)."),
]
Text = Annotated[str, StringConstraints(min_length=1)]


class _Model(BaseModel):
    # No `.inf` or `.nan` anywhere: a KPI's values and targets are checked against the
    # magnitude limit, or its bounds, by `validate`.
    model_config = ConfigDict(
        extra="forbid", frozen=True, use_enum_values=False, allow_inf_nan=False
    )

"""Every problem of a JSON body at once: when the schema refuses some of its fields, the
fields it accepted are still checked by the service (check-only, nothing written), and the
answer lists both.

A write endpoint registers its check-only path with `@checks_body(endpoint)`: a function of
the request and the body's accepted fields (`accepted(Model, raw)`: plain dicts, each field
the schema accepted, validated; a list of models item by item) that returns the service's
problems as `{"field", "reason"}`. The validation handler (web/errors.py) calls it and adds
the problems of the fields the schema did not already name. A problem that stopped the check
(`"first": True`: the unit the body is about does not exist, so nothing else of it could be
checked) is the most useful one and is listed before the schema's.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Request
from pydantic import BaseModel, TypeAdapter, ValidationError

BodyCheck = Callable[[Request, dict[str, Any]], list[dict[str, Any]]]
_CHECKS: dict[Callable[..., Any], tuple[type[BaseModel], BodyCheck]] = {}


def checks_body(
    endpoint: Callable[..., Any], model: type[BaseModel]
) -> Callable[[BodyCheck], BodyCheck]:
    """Register `check` as the check-only path of `endpoint`, whose body is a `model`."""

    def register(check: BodyCheck) -> BodyCheck:
        _CHECKS[endpoint] = (model, check)
        return check

    return register


def body_problems(
    request: Request, raw: Any, named: set[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The service's problems of the fields of `raw` the schema accepted, those of a field
    already `named` (or within one, or holding one) left out: those to list before the
    schema's (`"first"`), and the others; nothing for an endpoint that registered no check
    or a body that is not an object."""
    found = _CHECKS.get(request.scope.get("endpoint"))  # type: ignore[arg-type]
    if found is None or not isinstance(raw, dict):
        return [], []
    model, check = found
    problems = check(request, accepted(model, raw))
    kept = [p for p in problems if not any(_overlap(p["field"], n) for n in named)]
    first = [{k: v for k, v in p.items() if k != "first"} for p in kept if p.get("first")]
    return first, [p for p in kept if not p.get("first")]


def _overlap(field: str, named: str) -> bool:
    return any(
        a == b or a.startswith((b + ".", b + "[")) for a, b in ((field, named), (named, field))
    )


def accepted(model: type[BaseModel], raw: Any) -> dict[str, Any]:
    """The fields of `raw` that `model` accepts, each validated on its own: a nested model as
    a dict of its accepted fields, a list of models as a list of such dicts; a field the
    schema refuses (or that is absent) is left out."""
    if not isinstance(raw, dict):
        return {}
    kept: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if name not in raw:
            continue
        value = raw[name]
        inner, many = _model_in(field.annotation)
        if inner is not None:
            if many and isinstance(value, list):
                kept[name] = [accepted(inner, item) for item in value]
            elif not many and isinstance(value, dict):
                kept[name] = accepted(inner, value)
            continue
        try:
            kept[name] = _adapter(model, name).validate_python(value)
        except ValidationError:
            continue
    return kept


@functools.cache
def _adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    field = model.model_fields[name]
    # The field's type with its constraints (lengths, bounds), as the model validates it.
    return TypeAdapter(Annotated[field.annotation, field])  # type: ignore[arg-type]


def _model_in(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model a field holds (`SubjectIn`, `SubjectIn | None`) or a list of (`list[X]`)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found[0] is not None:
                return found
        return None, False
    if origin is list:
        (item,) = typing.get_args(annotation) or (None,)
        return (
            (item, True)
            if isinstance(item, type) and issubclass(item, BaseModel)
            else (None, False)
        )
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None, False

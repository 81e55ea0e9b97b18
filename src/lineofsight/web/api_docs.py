"""The API reference at /api/docs: the OpenAPI document rendered on the server as one page
(no script and nothing fetched from elsewhere), beside the raw /api/openapi.json."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

router = APIRouter(include_in_schema=False)

METHODS = ("get", "post", "put", "patch", "delete")


def _schema_text(schema: dict[str, Any] | None) -> str:
    if not schema:
        return ""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(_schema_text(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"list of {_schema_text(schema.get('items'))}"
    return str(schema.get("type", ""))


def operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Each endpoint as the page lists it: method, path, summary, parameters, body."""
    found = []
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            body = op.get("requestBody", {}).get("content", {})
            found.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "type": _schema_text(p.get("schema")),
                            "description": p.get("description", ""),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "body": [
                        {"media_type": media, "type": _schema_text(content.get("schema"))}
                        for media, content in body.items()
                    ],
                    "responses": sorted(op.get("responses", {})),
                }
            )
    return found


@router.get("/api/docs")
def api_docs(request: Request) -> Response:
    from lineofsight.web.templating import render

    spec = request.app.openapi()
    schemas = spec.get("components", {}).get("schemas", {})
    return render(
        request,
        "api_docs.html",
        info=spec.get("info", {}),
        operations=operations(spec),
        schemas={name: json.dumps(s, indent=2) for name, s in sorted(schemas.items())},
    )

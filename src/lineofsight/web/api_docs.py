"""The API reference at /api/docs: the OpenAPI document rendered on the server as one page
(no script and nothing fetched from elsewhere), beside the raw /api/openapi.json; and the
document itself made to say what the API does (`install_openapi`).

FastAPI's own document describes its default errors (`{"detail": ...}`, 422 only) and no
authentication. The API answers every error as `{"error": {...}}` (web/errors.py) and takes
an API token (`Authorization: Bearer ...`) or a browser's session cookie: the document says
so for every operation, so that generated clients and schema-based tests see the real API.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from pydantic import TypeAdapter

from lineofsight.web.api_models import ErrorBody
from lineofsight.web.errors import CODES
from lineofsight.web.security import SESSION_COOKIE

router = APIRouter(include_in_schema=False)

METHODS = ("get", "post", "put", "patch", "delete")
API_PREFIX = "/api/v1/"
SECURITY_SCHEMES = {
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token: `los user token USERNAME`, or POST /users/{username}/tokens.",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "A browser's session after logging in at /login; writes also need "
        "its CSRF token in the X-CSRF-Token header.",
    },
}
# The errors every operation may answer, beside its own successes.
ERRORS = {
    401: "Not logged in and no valid API token",
    403: "The account's role does not allow this on an item it may read",
    404: "No such item, or one outside the account's units (the same answer), or no strategy",
    422: "A field of the request is not valid: `details` names each and why",
    503: "The store is busy with another write (code `busy`, Retry-After) or unreachable",
}
ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


def shape_openapi(doc: dict[str, Any]) -> dict[str, Any]:
    """The document FastAPI made, with the API's real errors and authentication (in place)."""
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    error_schema = TypeAdapter(ErrorBody).json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorBody"] = error_schema
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    components["securitySchemes"] = SECURITY_SCHEMES
    for path, item in doc.get("paths", {}).items():
        if not path.startswith(API_PREFIX):
            continue
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            op["security"] = [{"bearerToken": []}, {"sessionCookie": []}]
            responses = op.setdefault("responses", {})
            for status, description in ERRORS.items():
                responses[str(status)] = _error_response(description)
            if method != "get":
                responses["409"] = _error_response("The change conflicts with what is stored")
            responses["default"] = _error_response(
                "Any other error, in the same shape ("
                + ", ".join(sorted(set(CODES.values())))
                + ")"
            )
    return doc


def install_openapi(app: FastAPI) -> None:
    """Serve the shaped document at the app's openapi_url (built once, on first request)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        doc = build()  # FastAPI keeps it until the routes change
        if "securitySchemes" not in doc.get("components", {}):
            shape_openapi(doc)
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


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

"""Uploads on the page and the API: bad files and bad names are 422, big bodies 413, never 500.

Messages name the user's file, never the server's temporary copy; nothing is stored.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook

from tests.web.conftest import log_in
from tests.web.site import csrf_from
from tests.web.test_api import assert_error

BOMB = (
    '<?xml version="1.0"?><!DOCTYPE b [<!ENTITY a "aaaaaaaaaa">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><b>&b;</b>'
)


def _history(api: Any) -> dict[tuple[str, str], Any]:
    rows = api.get("/kpis/revenue/measurements").json()["measurements"]
    return {(m["unit"], m["period"]): m["value"] for m in rows}


def _workbook(rows: list[list[object]], title: str = "Sheet") -> bytes:
    book = Workbook()
    book.active.title = title
    for row in rows:
        book.active.append(row)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def _bomb() -> bytes:
    source = zipfile.ZipFile(io.BytesIO(_workbook([["kpi", "period", "value"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            target.writestr(name, BOMB.encode() if name.endswith("sheet1.xml") else data)
    return out.getvalue()


def _multipart(filename: bytes, content: bytes, fields: dict[str, str]) -> tuple[bytes, str]:
    """A multipart body written by hand: a browser's client library would escape a NUL."""
    boundary = "losboundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="'.encode()
        + filename
        + b'"\r\nContent-Type: text/csv\r\n\r\n'
        + content
        + b"\r\n"
    )
    return b"".join(
        parts
    ) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def page(client: TestClient) -> TestClient:
    assert log_in(client, "admin").status_code == 303
    return client


def _page_upload(page: TestClient, name: str, content: bytes, **fields: str) -> Any:
    token = csrf_from(page.get("/upload").text)
    return page.post(
        "/upload", data={"csrf_token": token, **fields}, files={"file": (name, content)}
    )


BAD_FILES = [
    ("fake.xlsx", b"kpi,period,value\nrevenue,2026-09,1\n", "not a readable Excel workbook"),
    ("bomb.xlsx", _bomb(), "declares a DTD"),
    ("long.csv", b"kpi,period,value,note\nrevenue,2026-09,1," + b"x" * 200_000 + b"\n", "longer"),
    ("notes.txt", b"hello", "unsupported file type .txt"),
]


@pytest.mark.parametrize(("name", "content", "reason"), BAD_FILES)
def test_a_bad_file_is_422_on_the_api_naming_the_upload(  # type: ignore[no-untyped-def]
    api_as, name: str, content: bytes, reason: str
) -> None:
    api = api_as("admin")
    before = _history(api)
    response = api.request("POST", "/measurements/upload", files={"file": (name, content)})
    error = assert_error(response, 422)
    assert reason in response.text and name in error["message"]
    assert "los-upload-" not in response.text and "/tmp" not in response.text
    assert _history(api) == before


@pytest.mark.parametrize(("name", "content", "reason"), BAD_FILES)
def test_a_bad_file_is_422_on_the_page_naming_the_upload(
    page: TestClient, api_as: Any, name: str, content: bytes, reason: str
) -> None:
    before = _history(api_as("admin"))
    answer = _page_upload(page, name, content)
    assert answer.status_code == 422, answer.text
    assert reason in answer.text and name in answer.text
    assert "los-upload-" not in answer.text and "/tmp" not in answer.text
    assert _history(api_as("admin")) == before


def test_a_nul_in_the_file_name_is_422(page: TestClient, api_as: Any) -> None:
    api = api_as("admin")
    before = _history(api)
    content = b"kpi,period,value\nrevenue,2026-09,1\n"
    body, kind = _multipart(b"sept\x00.csv", content, {})
    response = api.request(
        "POST", "/measurements/upload", content=body, headers={"Content-Type": kind}
    )
    error = assert_error(response, 422)
    assert "control character (U+0000)" in error["message"]
    token = csrf_from(page.get("/upload").text)
    body, kind = _multipart(b"sept\x00.csv", content, {"csrf_token": token})
    answer = page.post("/upload", content=body, headers={"Content-Type": kind})
    assert answer.status_code == 422
    assert "control character (U+0000)" in answer.text
    assert _history(api) == before


def test_folders_in_the_file_name_are_dropped(api_as: Any) -> None:
    content = b"kpi,period,value\nrevenue,2026-09,5\n"
    response = api_as("admin").request(
        "POST", "/measurements/upload", files={"file": ("../../etc\\sept.csv", content)}
    )
    assert response.status_code == 201, response.text
    assert response.json()["file"] == "sept.csv"


@pytest.fixture
def small_limit(web_app: Any) -> Iterator[None]:
    """The app's body limit lowered to 4 KiB for one test (a setting of `create_app`)."""
    limit = web_app.state.max_upload_bytes
    web_app.state.max_upload_bytes = 4096
    yield
    web_app.state.max_upload_bytes = limit


@pytest.mark.usefixtures("small_limit")
def test_a_body_past_the_limit_is_413(api_as: Any, page: TestClient) -> None:
    api = api_as("admin")
    before = _history(api)
    big = b"kpi,period,value\n" + b"revenue,2026-09,1\n" * 1000
    response = api.request("POST", "/measurements/upload", files={"file": ("big.csv", big)})
    error = assert_error(response, 413, "too_large")
    assert "larger than the limit of 0.00391 MB" in error["message"]
    assert "LOS_MAX_UPLOAD_MB" in error["message"]

    # A body sent in chunks, with no length announced, is cut off at the limit too.
    body, kind = _multipart(b"big.csv", big, {})

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    response = api.request(
        "POST", "/measurements/upload", content=chunks(), headers={"Content-Type": kind}
    )
    assert_error(response, 413, "too_large")
    token = csrf_from(page.get("/upload").text)
    answer = page.post("/upload", data={"csrf_token": token}, files={"file": ("big.csv", big)})
    assert answer.status_code == 413 and "larger than the limit" in answer.text
    assert _history(api) == before


def test_the_sheet_of_an_upload_is_chosen_and_named(api_as: Any) -> None:
    book = Workbook()
    book.active.title = "Notes"
    october = book.create_sheet("October")
    october.append(["October close"])
    october.append(["kpi", "period", "value"])
    october.append(["revenue", "2026-10", "n/a"])
    data = io.BytesIO()
    book.save(data)
    api = api_as("admin")
    files = {"file": ("close.xlsx", data.getvalue())}
    response = api.request("POST", "/measurements/upload", files=files, data={"sheet": "October"})
    error = assert_error(response, 422)
    assert error["details"] == [
        {
            "file": "close.xlsx, sheet 'October'",
            "row": 3,
            "reason": "column value: 'n/a' is not a number",
        }
    ]
    october["C3"] = 190
    data = io.BytesIO()
    book.save(data)
    files = {"file": ("close.xlsx", data.getvalue())}
    response = api.request("POST", "/measurements/upload", files=files, data={"sheet": "October"})
    assert response.status_code == 201, response.text
    assert _history(api)[("sales", "2026-10")] == 190


def test_a_check_in_that_overlaps_a_stored_period_is_422(api_as: Any) -> None:
    api = api_as("admin")
    before = _history(api)
    # revenue holds 2026-01 (monthly): a day of January would be counted in it twice.
    response = api.request(
        "POST", "/measurements", json={"kpi": "revenue", "period": "2026-01-15", "value": 3}
    )
    error = assert_error(response, 422)
    assert error["details"][0]["field"] == "period"
    assert "shares days with 2026-01, already stored for (revenue, sales)" in error["message"]
    assert _history(api) == before


def test_the_limit_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from lineofsight.errors import UsageError
    from lineofsight.web.uploads import LIMIT_ENV, limit_from_environment

    monkeypatch.delenv(LIMIT_ENV, raising=False)
    assert limit_from_environment() == 50 * 1024 * 1024
    monkeypatch.setenv(LIMIT_ENV, "2.5")
    assert limit_from_environment() == int(2.5 * 1024 * 1024)
    for bad in ("lots", "0", "-1"):
        monkeypatch.setenv(LIMIT_ENV, bad)
        with pytest.raises(UsageError, match=LIMIT_ENV):
            limit_from_environment()


def _macro_workbook(rows: list[list[object]]) -> bytes:
    """A macro-enabled workbook (.xlsm) as Excel writes one: the macro content type and a
    VBA part beside the sheets."""
    source = zipfile.ZipFile(io.BytesIO(_workbook(rows, "measurements")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "[Content_Types].xml":
                data = data.replace(
                    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                ).replace(
                    b"</Types>",
                    b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
                    b"</Types>",
                )
            target.writestr(name, data)
        target.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 macros, never run")
    return out.getvalue()


def test_the_form_the_message_and_the_loader_agree_on_file_types(
    page: TestClient, api_as: Any
) -> None:
    # The form offers what the loader reads; a file of another type is told the same list.
    form = page.get("/upload").text
    accept = re.search(r'<input type="file"[^>]*accept="([^"]*)"', form)
    assert accept, form
    offered = accept.group(1).split(",")
    assert offered == [".csv", ".xlsx", ".xlsm"]
    answer = _page_upload(page, "notes.txt", b"hello")
    assert answer.status_code == 422
    assert "use .csv, .xlsx or .xlsm" in answer.text
    book = _macro_workbook([["kpi", "period", "value"], ["revenue", "2026-04", 141]])
    answer = _page_upload(page, "close.xlsm", book)
    assert answer.status_code == 200, answer.text
    assert _history(api_as("admin"))[("sales", "2026-04")] == 141
    response = api_as("admin").request(
        "POST", "/measurements/upload", files={"file": ("close.xlsm", book)}
    )
    assert response.status_code in (200, 201), response.text

"""`los load` of files that are not what they claim: each a clear error, exit 2, nothing stored.

The bad files are made here: an .xlsx that is no zip, a zip with no workbook, workbooks whose
XML declares a DTD (an entity bomb) or unpacks past the limit, CSVs with a line or a quoted
field past 128 KiB, and a large file of one line, read in bounded memory.
"""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from lineofsight.errors import LoadError
from lineofsight.services import measurement_files
from lineofsight.services.measurement_files import ReadLimits, scan_csv
from lineofsight.store.database import Store
from lineofsight.store.measurements import read_measurements
from tests.conftest import FIXTURES, Los

FULL = FIXTURES / "specs" / "valid" / "full.yaml"

BOMB_DTD = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
        for i in range(1, 10)
    )
    + "]>\n"
)


@pytest.fixture
def applied(los: Los) -> Los:
    result = los("apply", str(FULL))
    assert result.exit_code == 0, result.output
    return los


def _stored(db_url: str) -> list[dict]:
    store = Store(db_url)
    with store.reading() as conn:
        rows = read_measurements(conn)
    store.close()
    return rows


def _workbook_bytes() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["kpi", "period", "value"])
    sheet.append(["dio", "2026-01", 45])
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def _rewritten(parts: dict[str, bytes]) -> bytes:
    """A real workbook with some of its parts replaced (or added)."""
    source = zipfile.ZipFile(io.BytesIO(_workbook_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, parts.pop(info.filename, source.read(info.filename)))
        for name, data in parts.items():
            target.writestr(name, data)
    return out.getvalue()


def _refused(applied: Los, db_url: str, path: Path, *fragments: str) -> str:
    result = applied("load", str(path))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output
    assert _stored(db_url) == []
    return result.output


def test_an_xlsx_that_is_not_a_zip_is_refused(applied: Los, workdir: Path, db_url: str) -> None:
    path = workdir / "fake.xlsx"
    path.write_text("kpi,period,value\ndio,2026-01,45\n")
    _refused(applied, db_url, path, "fake.xlsx: not a readable Excel workbook", "this one is not")


def test_a_zip_without_a_workbook_is_refused(applied: Los, workdir: Path, db_url: str) -> None:
    path = workdir / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    _refused(applied, db_url, path, "archive.xlsx: not a readable Excel workbook", "no workbook")


@pytest.mark.parametrize(
    "part", ["xl/worksheets/sheet1.xml", "xl/workbook.xml", "[Content_Types].xml", "xl/extra.xml"]
)
def test_a_dtd_in_any_xml_part_is_refused_before_parsing(
    applied: Los, workdir: Path, db_url: str, part: str
) -> None:
    # A billion-laughs entity bomb: a DTD whose entities expand to 10^9 copies of "lol".
    original = zipfile.ZipFile(io.BytesIO(_workbook_bytes()))
    body = original.read(part).decode() if part in original.namelist() else "<x>&lol9;</x>"
    body = body.split("?>", 1)[-1] if body.startswith("<?xml") else body
    path = workdir / "bomb.xlsx"
    path.write_bytes(_rewritten({part: (BOMB_DTD + body).encode()}))
    _refused(applied, db_url, path, "bomb.xlsx: not a readable Excel workbook", "declares a DTD")


def test_xml_that_is_not_utf8_is_refused(applied: Los, workdir: Path, db_url: str) -> None:
    # UTF-16 would hide a DTD from a byte scan: Excel writes UTF-8 only.
    text = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'
    path = workdir / "wide.xlsx"
    path.write_bytes(_rewritten({"xl/extra.xml": text.encode("utf-16")}))
    _refused(applied, db_url, path, "wide.xlsx", "is not UTF-8 XML")


def test_a_workbook_that_unpacks_past_the_limit_is_refused(
    applied: Los, workdir: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A zip bomb: a small file whose XML unpacks to much more (counted while unpacking).
    monkeypatch.setattr(measurement_files, "LIMITS", ReadLimits(file_bytes=1 << 20))
    path = workdir / "zipbomb.xlsx"
    path.write_bytes(_rewritten({"xl/extra.xml": b"<x>" + b" " * (4 << 20) + b"</x>"}))
    assert path.stat().st_size < 100_000
    _refused(applied, db_url, path, "zipbomb.xlsx", "unpacks to more than 1 MiB")


def test_a_csv_line_over_128_kib_is_refused(applied: Los, workdir: Path, db_url: str) -> None:
    path = workdir / "long.csv"
    path.write_text(
        "kpi,period,value,note\ndio,2026-01,45,\ndio,2026-02,46," + "x" * 200_000 + "\n"
    )
    _refused(applied, db_url, path, "long.csv: row 3: longer than 128 KiB")


def test_a_quoted_field_over_128_kib_across_lines_is_refused(
    applied: Los, workdir: Path, db_url: str
) -> None:
    # Every line is short, but one quoted field runs over many of them.
    field = "\n".join(["y" * 1000] * 200)
    path = workdir / "quoted.csv"
    path.write_text(f'kpi,period,value,note\ndio,2025-12,44,\ndio,2026-01,45,"{field}"\n')
    # The row is the one the field starts on (row 3), not a line inside the field.
    _refused(
        applied,
        db_url,
        path,
        "quoted.csv: row 3: a field that starts on this row is longer than 128 KiB",
    )


def test_a_file_past_the_size_limit_is_refused(
    applied: Los, workdir: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(measurement_files, "LIMITS", ReadLimits(file_bytes=1000))
    path = workdir / "big.csv"
    path.write_text("kpi,period,value\n" + "dio,2026-01,45\n" * 100)
    _refused(applied, db_url, path, "big.csv: the file is 1.48 KiB; at most 1000 bytes", "split it")


def test_a_large_one_line_csv_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    # 32 MB of one line: refused after reading its first chunks, never the whole file.
    path = tmp_path / "oneline.csv"
    with path.open("wb") as out:
        out.write(b"kpi,period,value\n")
        for _ in range(32):
            out.write(b"a" * (1 << 20))
    tracemalloc.start()
    try:
        with pytest.raises(LoadError) as caught:
            scan_csv(path, "oneline.csv")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(caught.value.problems[0]).startswith("oneline.csv: row 2: longer than 128 KiB")
    assert peak < 4 << 20, peak  # a few chunks, not 32 MB


def test_the_line_limit_is_a_setting(
    applied: Los, workdir: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(measurement_files, "LIMITS", ReadLimits(line_bytes=64))
    path = workdir / "lines.csv"
    path.write_text("kpi,period,value,note\ndio,2026-01,45,short\ndio,2026-02,4," + "z" * 80 + "\n")
    _refused(applied, db_url, path, "lines.csv: row 3: longer than 64 bytes")
    path.write_text("kpi,period,value,note\ndio,2026-01,45,short\n")
    assert applied("load", str(path)).exit_code == 0


@pytest.mark.parametrize("size", [1, 2, 1 << 20, (1 << 20) + 1])
def test_the_line_scan_finds_the_long_line_wherever_it_is(tmp_path: Path, size: int) -> None:
    # Lines that end right at a chunk's edge, and the long one after many short ones.
    limits = ReadLimits(line_bytes=100)
    path = tmp_path / "scan.csv"
    short = b"x" * (size % 90) + b"\n"
    body = short * ((1 << 21) // len(short))
    path.write_bytes(body + b"y" * 100 + b"\n")
    scan_csv(path, "scan.csv", limits)  # exactly the limit: fine
    path.write_bytes(body + b"y" * 101 + b"\n" + short)
    with pytest.raises(LoadError) as caught:
        scan_csv(path, "scan.csv", limits)
    assert caught.value.problems[0].line == body.count(b"\n") + 1


def test_a_sheet_of_a_csv_is_refused(applied: Los, workdir: Path, db_url: str) -> None:
    path = workdir / "m.csv"
    path.write_text("kpi,period,value\ndio,2026-01,45\n")
    result = applied("load", str(path), "--sheet", "Q3")
    assert result.exit_code == 2
    assert "m.csv: a CSV file has no sheets" in result.output
    assert _stored(db_url) == []

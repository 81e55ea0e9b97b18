"""The JSON API's writes: check-ins, uploads, the strategy, users and tokens, and their audit."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from openpyxl import Workbook

from tests.web.conftest import AS_OF, PASSWORD, STRATEGY, csrf_of, log_in
from tests.web.test_api import assert_error


def _history(api, kpi: str) -> dict[tuple[str, str], dict]:  # type: ignore[no-untyped-def]
    rows = api.get(f"/kpis/{kpi}/measurements").json()["measurements"]
    return {(m["unit"], m["period"]): m for m in rows}


def test_an_owner_enters_and_replaces_a_value(api_as) -> None:  # type: ignore[no-untyped-def]
    api = api_as("alice")
    first = api.request(
        "POST",
        "/measurements",
        json={"kpi": "revenue", "period": "2026-04", "value": 150, "note": "April <i>close</i>"},
    )
    assert first.status_code == 201, first.text
    assert first.json()["action"] == "added" and first.json()["revision"] == 1
    second = api.request(
        "POST", "/measurements", json={"kpi": "revenue", "period": "2026-04", "value": 155}
    )
    assert second.status_code == 200 and second.json()["action"] == "replaced"
    assert second.json()["revision"] == 2
    row = _history(api, "revenue")[("sales", "2026-04")]
    assert row["value"] == 155 and row["revision"] == 2
    assert [(r["value"], r["note"]) for r in row["revisions"]] == [(150, "April <i>close</i>")]
    # The scorecard sees the write at once (the cache follows the store's revision).
    status = api.get("/status", params={"period": "2026-04", "unit": "sales"}).json()
    revenue = next(r for r in status["kpis"] if r["id"] == "revenue" and r["unit"] == "sales")
    assert revenue["actual"] == 155
    audit = api_as("admin").get("/audit", params={"subject": "measurement:revenue/sales/2026-04"})
    entries = audit.json()["entries"]
    assert [e["actor"] for e in entries] == ["alice", "alice"]
    assert entries[0]["before"]["value"] == 150 and entries[0]["after"]["value"] == 155
    assert entries[1]["before"] is None
    # Times in ISO 8601 UTC, as every API time (SQLite keeps them without a zone).
    assert all(e["at"].endswith("+00:00") for e in entries), [e["at"] for e in entries]


def test_a_ratio_takes_numerator_and_denominator(api_as) -> None:  # type: ignore[no-untyped-def]
    api = api_as("alice")
    ok = api.request(
        "POST",
        "/measurements",
        json={"kpi": "conversion", "period": "2026-04", "numerator": 45, "denominator": 900},
    )
    assert ok.status_code == 201, ok.text
    error = assert_error(
        api.request(
            "POST", "/measurements", json={"kpi": "conversion", "period": "2026-05", "value": 4}
        ),
        422,
    )
    assert error["details"][0]["field"] == "value"
    nothing = {"kpi": "conversion", "period": "2026-04", "numerator": 890, "denominator": 0}
    error = assert_error(api.request("POST", "/measurements", json=nothing), 422, "invalid")
    assert error["details"][0]["field"] == "denominator", error
    assert "makes no ratio" in error["message"]
    kept = _history(api, "conversion")[("sales", "2026-04")]
    assert (kept["numerator"], kept["denominator"]) == (45, 900), kept


def test_bad_check_ins_name_the_field_and_store_nothing(api_as) -> None:  # type: ignore[no-untyped-def]
    api = api_as("admin")
    before = _history(api, "revenue")
    cases = [
        ({"kpi": "revenue", "period": "2026-99", "value": 1}, "period"),
        ({"kpi": "revenue", "period": "2026", "value": 1}, "period"),  # coarser than monthly
        ({"kpi": "revenue", "period": "2026-05"}, "value"),
        ({"kpi": "revenue", "period": "2026-05", "value": "lots"}, "value"),
        ({"kpi": "nope", "period": "2026-05", "value": 1}, "kpi"),
        ({"kpi": "revenue", "period": "2026-05", "value": 1, "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        error = assert_error(api.request("POST", "/measurements", json=body), 422, "invalid")
        assert field in {d.get("field") for d in error["details"]}, (body, error)
        # The message says what is wrong, naming the field, not only that something is.
        assert error["message"].startswith(f"{field}: "), error
    json_type = {"Content-Type": "application/json"}
    broken = api.request("POST", "/measurements", headers=json_type, content=b'{"kpi": rev')
    error = assert_error(broken, 422, "invalid")
    assert error["details"] == [
        {"field": "body", "reason": error["details"][0]["reason"]}
    ] and error["details"][0]["reason"].startswith("not valid JSON: ")
    assert "(at character 8)" in error["message"]
    empty = assert_error(api.request("POST", "/measurements"), 422, "invalid")
    assert empty["details"] == [{"field": "body", "reason": "a JSON body is required"}]
    assert empty["message"] == "body: a JSON body is required"
    # A unit that does not exist: the same answer as for one outside a scoped writer's.
    body = {"kpi": "revenue", "period": "2026-05", "value": 1, "unit": "mars"}
    error = assert_error(api.request("POST", "/measurements", json=body), 404, "not_found")
    assert error["message"] == "unit 'mars' not found"
    assert _history(api, "revenue") == before


def test_a_check_in_for_a_kpi_not_known_lists_its_period_problems_too(api_as) -> None:  # type: ignore[no-untyped-def]
    # Every problem of the body at once: not the KPI first, then the period once it is fixed.
    # A KPI outside the writer's units answers exactly as one that does not exist.
    for who, kpi in (("admin", "nope"), ("bob", "nope"), ("bob", "revenue")):
        for period, reason in (
            ("2026-13", "'2026-13' is not a valid period: month must be 01-12"),
            ("2099-01", "2099-01 has not ended yet (it ends on 2099-01-31)"),
        ):
            body = {"kpi": kpi, "period": period, "value": 1}
            answer = api_as(who).request("POST", "/measurements", json=body)
            error = assert_error(answer, 422, "invalid")
            assert [d["field"] for d in error["details"]] == ["kpi", "period"], (who, error)
            assert error["details"][0]["reason"] == f"unknown KPI '{kpi}'"
            assert error["details"][1]["reason"].startswith(reason)
            assert error["message"].startswith(f"kpi: unknown KPI '{kpi}'; period: ")


def test_an_upload_with_bad_rows_lists_them_all_and_stores_nothing(api_as) -> None:  # type: ignore[no-untyped-def]
    api = api_as("admin")
    before = _history(api, "revenue")
    bad = "kpi,period,value\nrevenue,2026-06,10\nrevenue,2026-13,11\nnope,2026-06,1\n"
    response = api.request(
        "POST", "/measurements/upload", files={"file": ("june.csv", bad.encode(), "text/csv")}
    )
    error = assert_error(response, 422, "invalid")
    assert [(d["file"], d["row"]) for d in error["details"]] == [("june.csv", 3), ("june.csv", 4)]
    assert _history(api, "revenue") == before


def test_an_upload_of_csv_or_xlsx_loads_every_row(api_as) -> None:  # type: ignore[no-untyped-def]
    api = api_as("admin")
    good = "kpi,period,value,note\nrevenue,2026-07,170,July\ndefects,2026-07,4,\n"
    response = api.request(
        "POST", "/measurements/upload", files={"file": ("july.csv", good.encode(), "text/csv")}
    )
    assert response.status_code == 201, response.text
    assert response.json()["added"] == 2
    book = Workbook()
    sheet = book.active
    sheet.append(["kpi", "period", "value"])
    sheet.append(["revenue", "2026-08", 180])
    data = io.BytesIO()
    book.save(data)
    response = api.request(
        "POST",
        "/measurements/upload",
        files={"file": ("aug.xlsx", data.getvalue(), "application/octet-stream")},
    )
    assert response.status_code == 201, response.text
    history = _history(api, "revenue")
    assert history[("sales", "2026-07")]["note"] == "July"
    assert history[("sales", "2026-08")]["value"] == 180
    entries = api.get("/audit", params={"subject": "file:aug.xlsx"}).json()["entries"]
    assert entries[0]["actor"] == "admin" and entries[0]["after"]["added"] == 1
    wrong = api.request(
        "POST", "/measurements/upload", files={"file": ("notes.txt", b"hello", "text/plain")}
    )
    assert_error(wrong, 422)


def test_put_strategy_applies_and_reports_every_problem(api_as) -> None:  # type: ignore[no-untyped-def]
    api = api_as("editor")
    renamed = STRATEGY.replace("name: Revenue\n", "name: Net revenue\n")
    dry = api.request(
        "PUT",
        "/strategy",
        params={"dry_run": True},
        content=renamed,
        headers={"Content-Type": "application/yaml"},
    )
    assert dry.status_code == 200, dry.text
    assert dry.json()["changed"] == 1
    assert api.get("/kpis/revenue").json()["kpi"]["name"] == "Revenue"
    done = api.request(
        "PUT", "/strategy", content=renamed, headers={"Content-Type": "application/yaml"}
    )
    assert done.status_code == 200 and done.json()["changed"] == 1
    assert api.get("/kpis/revenue").json()["kpi"]["name"] == "Net revenue"
    entries = api_as("admin").get("/audit", params={"subject": "strategy"}).json()["entries"]
    assert entries[0]["actor"] == "editor" and entries[0]["after"]["changed"] == 1
    broken = renamed.replace("direction: increase", "direction: upwards").replace(
        "frequency: monthly\n    direction: decrease", "frequency: hourly\n    direction: decrease"
    )
    error = assert_error(
        api.request(
            "PUT", "/strategy", content=broken, headers={"Content-Type": "application/yaml"}
        ),
        422,
    )
    assert len(error["details"]) >= 2 and all("line" in d for d in error["details"])
    assert api.get("/kpis/revenue").json()["kpi"]["name"] == "Net revenue"
    early = renamed.replace(
        "target: {value: 200, by: 2026-12-31}", "target: {value: 200, by: 2025-06-30}"
    )
    error = assert_error(
        api.request(
            "PUT", "/strategy", content=early, headers={"Content-Type": "application/yaml"}
        ),
        422,
    )
    line = early.splitlines().index("    target: {value: 200, by: 2025-06-30}") + 1
    assert error["details"] == [
        {
            "file": "strategy.yaml",
            "line": line,
            "reason": "kpi revenue: target.by: 2025-06-30 is not after the baseline period 2025-12"
            " (which ends 2025-12-31): the target path runs from the baseline to this date; give"
            " a later date or an earlier baseline",
        }
    ]


def test_users_and_tokens(api_as, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    admin = api_as("admin")
    made = admin.request(
        "POST",
        "/users",
        json={
            "username": "dana",
            "password": "long enough pw",
            "roles": ["viewer:ops"],
            "name": "Dana",
        },
    )
    assert made.status_code == 201, made.text
    assert made.json()["grants"] == [{"role": "viewer", "unit": "ops"}]
    assert "password" not in made.text and "hash" not in made.text
    duplicate = admin.request(
        "POST",
        "/users",
        json={"username": "dana", "password": "long enough pw", "roles": ["viewer"]},
    )
    assert_error(duplicate, 422)
    short = admin.request(
        "POST",
        "/users",
        json={"username": "e ve", "password": "short", "roles": ["bogus", "owner:mars"]},
    )
    assert_error(short, 422)
    # Every problem of the body at once, each naming its field.
    details = short.json()["error"]["details"]
    assert [d["field"] for d in details] == ["username", "password", "roles", "roles", "person"]
    assert "unknown role 'bogus'" in details[2]["reason"]
    assert "unknown unit 'mars'" in details[3]["reason"]
    assert "--" not in details[4]["reason"]
    none = admin.request(
        "POST", "/users", json={"username": "eve", "password": "x" * 9, "roles": []}
    )
    assert_error(none, 422)
    assert none.json()["error"]["details"] == [
        {"field": "roles", "reason": "give at least one role (admin, editor, owner, viewer)"}
    ]
    token = admin.request("POST", "/users/dana/tokens", json={"label": "script"}).json()
    dana = {"Authorization": f"Bearer {token['token']}"}
    assert client.get("/api/v1/units/ops", headers=dana).status_code == 200
    # A unit outside the token's scope answers as one that does not exist.
    assert client.get("/api/v1/units/sales", headers=dana).status_code == 404
    assert admin.request("DELETE", f"/tokens/{token['id']}").status_code == 200
    assert client.get("/api/v1/units/ops", headers=dana).status_code == 401
    assert admin.request("DELETE", "/users/dana").status_code == 200
    assert_error(admin.request("DELETE", "/users/dana"), 404)
    assert_error(admin.request("DELETE", "/users/admin"), 409)
    users = {u["username"] for u in admin.get("/users").json()["users"]}
    assert "dana" not in users and "alice" in users


def test_a_session_needs_the_csrf_token_to_write(client: TestClient) -> None:
    assert log_in(client, "alice").status_code == 303
    body = {"kpi": "revenue", "period": "2026-09", "value": 190}
    assert_error(client.post("/api/v1/measurements", json=body), 403, "csrf_failed")
    wrong = client.post("/api/v1/measurements", json=body, headers={"X-CSRF-Token": "0" * 64})
    assert_error(wrong, 403, "csrf_failed")
    token = csrf_of(client)
    ok = client.post("/api/v1/measurements", json=body, headers={"X-CSRF-Token": token})
    assert ok.status_code == 201, ok.text
    assert client.get("/api/v1/status", params={"as_of": AS_OF}).status_code == 200


def test_login_sets_a_safe_cookie_and_logout_ends_the_session(client: TestClient) -> None:
    assert log_in(client, "alice", "wrong password").status_code == 401
    response = log_in(client, "alice")
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert client.get("/api/v1/people/alice").status_code == 200
    token = csrf_of(client)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert_error(client.get("/api/v1/people/alice"), 401)


def test_login_without_csrf_token_is_refused(client: TestClient) -> None:
    csrf_of(client)  # a session exists, but the form below does not carry its token
    response = client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 403


def test_login_redirects_only_within_the_site(client: TestClient) -> None:
    token = csrf_of(client)
    response = client.post(
        "/login",
        data={
            "username": "alice",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/steal",
        },
    )
    assert response.headers["location"] == "/"


def test_pages_redirect_to_login(client: TestClient) -> None:
    response = client.get("/units/sales")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/units/sales")


def test_the_scorecard_follows_writes_from_other_processes(api_as, web_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from lineofsight.services.measurements import load_file
    from lineofsight.store.database import Store

    api = api_as("admin")
    before = api.get("/status", params={"period": "2026-10", "unit": "ops"}).json()
    assert all(r["actual"] is None for r in before["kpis"])
    data = tmp_path / "october.csv"
    data.write_text("kpi,period,value\ndefects,2026-10,3\n", encoding="utf-8")
    other = Store(web_url)  # as `los load` would, beside the server
    try:
        load_file(other, data)
    finally:
        other.close()
    after = api.get("/status", params={"period": "2026-10", "unit": "ops"}).json()
    assert [r["actual"] for r in after["kpis"] if r["id"] == "defects"] == [3]


def test_put_strategy_that_would_undo_a_change_made_in_the_web_app_needs_force(  # type: ignore[no-untyped-def]
    api_as,
) -> None:
    import datetime as dt

    yaml = {"Content-Type": "application/yaml"}
    renamed = STRATEGY.replace("name: Revenue\n", "name: Sales revenue\n")
    editor, admin = api_as("editor"), api_as("admin")
    # A change made in the web app (whatever the module's tests made before it, undone).
    sent = editor.request("PUT", "/strategy", params={"force": True}, content=renamed, headers=yaml)
    assert sent.status_code == 200, sent.text
    today = str(dt.datetime.now(dt.UTC).date())
    refused = admin.request("PUT", "/strategy", content=STRATEGY, headers=yaml)
    error = assert_error(refused, 409)
    assert "would undo 1 change made in the web app" in error["message"]
    assert "force=true" in error["message"]
    reason = (
        f"kpi revenue: name changed back, changed in the web app by editor on {today}; "
        'the store has "Sales revenue"'
    )
    assert error["details"] == [{"field": "strategy.yaml", "reason": reason}]
    assert admin.get("/kpis/revenue").json()["kpi"]["name"] == "Sales revenue"
    dry = admin.request(
        "PUT", "/strategy", params={"dry_run": True}, content=STRATEGY, headers=yaml
    )
    assert dry.status_code == 200, dry.text
    [change] = dry.json()["changes"]
    assert change["undoes"] == {"by": "editor", "on": today}
    done = admin.request("PUT", "/strategy", params={"force": True}, content=STRATEGY, headers=yaml)
    assert done.status_code == 200, done.text
    assert admin.get("/kpis/revenue").json()["kpi"]["name"] == "Revenue"


def test_put_strategy_with_a_line_indented_wrongly_says_so_at_its_line(api_as) -> None:  # type: ignore[no-untyped-def]
    api = api_as("editor")
    lines = STRATEGY.split("\n")
    line = lines.index("    owner: bob") + 1  # a key of the second KPI
    lines[line - 1] = "  owner: bob"
    error = assert_error(
        api.request(
            "PUT",
            "/strategy",
            content="\n".join(lines),
            headers={"Content-Type": "application/yaml"},
        ),
        422,
    )
    start = lines.index("kpis:") + 2
    item = lines.index("  - id: defects") + 1
    assert error["details"] == [
        {
            "file": "strategy.yaml",
            "line": line,
            "reason": f"'owner:' is indented 2 spaces, as the '- ' items of the list that starts"
            f" at line {start}, but does not start with '- '; the keys of the item above it (line"
            f" {item}) are indented 4 spaces",
        }
    ]


def test_a_value_ten_times_off_is_stored_with_a_warning(api_as) -> None:  # type: ignore[no-untyped-def]
    api = api_as("alice")
    for month, value in ((1, 100), (2, 104), (3, 98), (4, 102)):
        usual = api.request(
            "POST",
            "/measurements",
            json={"kpi": "revenue", "period": f"2025-0{month}", "value": value},
        )
        assert usual.status_code == 201 and usual.json()["warnings"] == [], usual.text
    typo = api.request(
        "POST", "/measurements", json={"kpi": "revenue", "period": "2025-05", "value": 1010}
    )
    assert typo.status_code == 201, typo.text
    assert typo.json()["warnings"] == [
        "1,010 is 10 times the usual size of the last 4 values here (median 101): check for a "
        "misplaced decimal point, a missing or extra zero, or a percentage typed as a fraction"
    ]
    assert _history(api, "revenue")[("sales", "2025-05")]["value"] == 1010


def test_a_check_in_says_the_schemas_and_the_services_problems_at_once(api_as) -> None:  # type: ignore[no-untyped-def]
    # A value that is not a number (the schema's) and a period not ended (the service's):
    # one answer, in the product's words, nothing stored.
    before = _history(api_as("admin"), "revenue")
    body = {"kpi": "revenue", "period": "2099-01", "value": "abc", "colour": "red"}
    error = assert_error(api_as("alice").request("POST", "/measurements", json=body), 422)
    assert error["details"] == [
        {"field": "value", "reason": "'abc' is not a number"},
        {"field": "colour", "reason": "is not a field of this request"},
        {"field": "period", "reason": "2099-01 has not ended yet (it ends on 2099-01-31)"},
    ], error
    assert error["message"].startswith("value: 'abc' is not a number; colour: ")
    assert _history(api_as("admin"), "revenue") == before


def test_an_unknown_kpi_gets_the_closest_id_the_writer_may_see(api_as) -> None:  # type: ignore[no-untyped-def]
    body = {"kpi": "revenu", "period": "2026-05", "value": 1}
    error = assert_error(api_as("admin").request("POST", "/measurements", json=body), 422)
    assert error["details"] == [
        {"field": "kpi", "reason": "unknown KPI 'revenu' (did you mean 'revenue'?)"}
    ]
    # bob may not see revenue (a unit of sales): no hint that names it, nor any other sign.
    for kpi in ("revenu", "revenue"):
        body = {"kpi": kpi, "period": "2026-05", "value": 1}
        error = assert_error(api_as("bob").request("POST", "/measurements", json=body), 422)
        assert error["details"] == [{"field": "kpi", "reason": f"unknown KPI '{kpi}'"}]
    # ... and a hint at one he may see.
    body = {"kpi": "defect", "period": "2026-03", "value": 1}
    error = assert_error(api_as("bob").request("POST", "/measurements", json=body), 422)
    assert error["details"] == [
        {"field": "kpi", "reason": "unknown KPI 'defect' (did you mean 'defects'?)"}
    ]


def test_a_check_in_without_a_note_keeps_the_stored_note(api_as) -> None:  # type: ignore[no-untyped-def]
    # As a file without a note column: a body that says nothing of the note keeps it;
    # `"note": null` or `""` given clears it.
    api = api_as("alice")
    body = {"kpi": "revenue", "period": "2026-03", "value": 140, "note": "March close"}
    assert api.request("POST", "/measurements", json=body).status_code in (200, 201)
    kept = api.request(
        "POST", "/measurements", json={"kpi": "revenue", "period": "2026-03", "value": 141}
    )
    assert kept.status_code == 200 and kept.json()["note"] == "March close", kept.text
    assert _history(api, "revenue")[("sales", "2026-03")]["note"] == "March close"
    entries = api_as("admin").get("/audit", params={"subject": "measurement:revenue/sales/2026-03"})
    assert entries.json()["entries"][0]["after"]["note"] == "March close"
    for cleared in (None, ""):
        api.request("POST", "/measurements", json={**body, "value": 142})
        answer = api.request(
            "POST",
            "/measurements",
            json={"kpi": "revenue", "period": "2026-03", "value": 143, "note": cleared},
        )
        assert answer.status_code == 200 and answer.json()["note"] is None, answer.text
        assert _history(api, "revenue")[("sales", "2026-03")]["note"] is None


def test_a_value_entered_through_the_api_is_recorded_as_an_api_check_in(  # type: ignore[no-untyped-def]
    api_as, client: TestClient, web_url: str
) -> None:
    from tests.conftest import Los
    from tests.web.conftest import CSRF

    body = {"kpi": "revenue", "period": "2025-11", "value": 120}
    assert api_as("alice").request("POST", "/measurements", json=body).status_code in (200, 201)
    log_in(client, "alice")
    form = client.get("/kpis/revenue/checkin").text
    token = CSRF.search(form)
    assert token, form
    sent = {"csrf_token": token.group(1), "period": "2025-10", "value": "118"}
    assert client.post("/kpis/revenue/checkin", data=sent).status_code == 303
    los = Los(web_url)
    for period, said in (
        ("2025-11", "API check-in by alice"),
        ("2025-10", "web check-in by alice"),
    ):
        history = los("measurement", "history", "revenue", period)
        assert history.exit_code == 0, history.output
        assert f"{said}  (current)" in history.stdout, history.stdout
        audit = api_as("admin").get(
            "/audit", params={"subject": f"measurement:revenue/sales/{period}"}
        )
        assert audit.json()["entries"][0]["after"]["source"] == said

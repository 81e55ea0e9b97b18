"""`los apply` and `los export` through the command line, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from lineofsight.spec.files import parse_strategy, read_strategy
from lineofsight.store import tables as t
from lineofsight.store.database import Store
from tests.conftest import FIXTURES, Los

FULL = FIXTURES / "specs" / "valid" / "full.yaml"


def _copy(src: Path, dest: Path) -> Path:
    dest.write_text(src.read_text())
    return dest


def test_apply_twice_changes_nothing(los: Los, workdir: Path) -> None:
    first = los("apply", str(FULL))
    assert first.exit_code == 0, first.output
    assert "+ kpi nps: Net Promoter Score" in first.output
    assert "+ unit cs_t1: Tier 1 Support" in first.output
    assert "Applied" in first.output and "0 changed, 0 removed" in first.output
    second = los("apply", str(FULL))
    assert second.exit_code == 0
    assert "No changes" in second.output


def test_apply_shows_changes_and_keeps_history(los: Los, workdir: Path, db_url: str) -> None:
    strategy = _copy(FULL, workdir / "strategy.yaml")
    assert los("apply", str(strategy)).exit_code == 0
    text = strategy.read_text()
    text = text.replace(
        "target: {value: 45, by: 2027-12-31}", "target: {value: 50, by: 2027-12-31}"
    )
    text = text.replace("  - id: bed_occupancy", "  - id: bed_occupancy_gone")
    strategy.write_text(text)
    result = los("apply", str(strategy))
    assert result.exit_code == 0, result.output
    assert (
        '~ kpi nps: target: {"value": 45, "by": "2027-12-31"} -> {"value": 50, "by": "2027-12-31"}'
        in result.output
    )
    assert "+ kpi bed_occupancy_gone" in result.output
    assert "- kpi bed_occupancy" in result.output
    assert "1 added, 1 changed, 1 removed" in result.output
    store = Store(db_url)
    with store.reading() as conn:
        rows = (
            conn.execute(
                select(t.definition_changes).where(
                    t.definition_changes.c.item_id == "nps",
                    t.definition_changes.c.action == "change",
                )
            )
            .mappings()
            .all()
        )
        removed = (
            conn.execute(
                select(t.definition_changes).where(t.definition_changes.c.action == "remove")
            )
            .mappings()
            .all()
        )
    store.close()
    assert [(r["field"], r["before"], r["after"]) for r in rows] == [
        ("target", {"value": 45, "by": "2027-12-31"}, {"value": 50, "by": "2027-12-31"})
    ]
    assert removed[0]["item_id"] == "bed_occupancy"
    assert removed[0]["before"]["range"] == {"low": 85, "high": 92}
    assert all(r["changed_at"] is not None and r["source"] == str(strategy) for r in rows)


def test_dry_run_writes_nothing(los: Los) -> None:
    result = los("apply", str(FULL), "--dry-run")
    assert "Would apply" in result.output
    assert "No changes" not in los("apply", str(FULL)).output


def test_bad_file_exits_2_lists_problems_and_stores_nothing(los: Los, workdir: Path) -> None:
    assert los("apply", str(FULL)).exit_code == 0
    before = los("export").output
    bad = FIXTURES / "specs" / "invalid" / "unknown_ids.yaml"
    result = los("apply", str(bad))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "unknown_ids.yaml:23: kpi rev: unit: unknown unit 'nowhere'" in result.output
    assert "13 problems" in result.output
    assert result.output.count("unknown_ids.yaml:") == 1 + 13
    assert los("export").output == before


def test_a_file_that_does_not_load_gives_its_problems_as_json(los: Los, workdir: Path) -> None:
    """`--format json` prints the file's problems as a document (as `los check FILE --format
    json` does): bad YAML, a missing file, an unknown id each at file and line; exit 2, the
    text still on standard error, nothing stored."""
    assert los("apply", str(FULL)).exit_code == 0
    before = los("export").output
    bad = FIXTURES / "specs" / "invalid" / "unknown_ids.yaml"
    result = los("apply", str(bad), "--format", "json")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["error"] == f"{bad}: 13 problems"
    assert len(data["problems"]) == 13
    assert {
        "file": str(bad),
        "line": 23,
        "message": "kpi rev: unit: unknown unit 'nowhere'",
    } in data["problems"]
    assert f"{bad}:23: kpi rev: unit: unknown unit 'nowhere'" in result.stderr
    broken = workdir / "broken.yaml"
    broken.write_text("version: 1\norganization: [\n", encoding="utf-8")
    result = los("apply", str(broken), "--format", "json")
    assert result.exit_code == 2
    (problem,) = json.loads(result.stdout)["problems"]
    assert problem["file"] == str(broken) and problem["line"] == 3
    missing = los("apply", str(workdir / "missing.yaml"), "--format", "json")
    assert missing.exit_code == 2
    (problem,) = json.loads(missing.stdout)["problems"]
    assert problem == {
        "file": str(workdir / "missing.yaml"),
        "line": None,
        "message": "no such file",
    }
    assert missing.stderr == f"error: {workdir / 'missing.yaml'}: no such file\n"
    assert los("export").output == before
    # Text keeps standard output empty, as before.
    assert los("apply", str(bad)).stdout == ""


def test_a_line_indented_wrongly_is_said_in_the_files_terms_by_check_and_apply(
    los: Los, workdir: Path
) -> None:
    lines = FULL.read_text().split("\n")
    assert lines[47] == "    owner: cs_head"  # a key of the first KPI
    lines[47] = "  owner: cs_head"
    bad = workdir / "bad.yaml"
    bad.write_text("\n".join(lines))
    said = (
        "bad.yaml:48: 'owner:' is indented 2 spaces, as the '- ' items of the list that starts"
        " at line 41, but does not start with '- '; the keys of the item above it (line 41) are"
        " indented 4 spaces"
    )
    for command in ("check", "apply"):
        result = los(command, str(bad))
        assert result.exit_code == 2, result.output
        assert said in " ".join(result.output.split()), result.output
        assert "YAML syntax error" not in result.output and "Traceback" not in result.output


def test_export_then_apply_is_a_no_op(los: Los, workdir: Path) -> None:
    assert los("apply", str(FULL)).exit_code == 0
    exported = workdir / "exported.yaml"
    result = los("export", str(exported))
    assert result.exit_code == 0, result.output
    assert read_strategy(exported) == read_strategy(FULL)
    again = los("apply", str(exported))
    assert "No changes" in again.output, again.output


def test_export_to_stdout(los: Los) -> None:
    los("apply", str(FULL))
    result = los("export")
    assert result.output.startswith("# Line of Sight strategy file")
    assert "formula: dio + dso - dpo" in result.output


def test_export_of_empty_store_says_what_to_do(los: Los) -> None:
    los.make_empty_store()
    result = los("export")
    assert result.exit_code == 2
    assert "run `los apply strategy.yaml` first" in result.output


def _many_kpis(path: Path, count: int) -> Path:
    """A valid strategy file with `count` KPIs at one unit."""
    kpis = "\n".join(
        f"  - {{id: k{i}, name: KPI {i}, unit: hq, frequency: monthly, direction: increase}}"
        for i in range(count)
    )
    path.write_text(
        "version: 1\norganization:\n  name: Many\n  units:\n"
        "    - {id: hq, name: Head office, level: company}\n"
        f"kpis:\n{kpis}\n"
    )
    return path


def test_apply_of_many_changes_lists_the_first_and_counts_per_kind(los: Los, workdir: Path) -> None:
    strategy = _many_kpis(workdir / "strategy.yaml", 300)
    result = los("apply", str(strategy), "--dry-run")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert sum(line.startswith("+ kpi ") for line in lines) < 200
    assert "more changed fields" in result.output
    assert "  kpi: 300 added" in lines
    assert "  unit: 1 added" in lines
    # 302 with the organisation's name
    assert "Would apply" in lines[-1] and "302 added, 0 changed, 0 removed" in lines[-1]
    every = los("apply", str(strategy), "--all")
    assert sum(line.startswith("+ kpi ") for line in every.output.splitlines()) == 300
    assert "more changed fields" not in every.output


def test_apply_reports_the_references_of_an_item_whose_required_field_is_wrong(
    los: Los, workdir: Path
) -> None:
    # Before, the KPI with a bad frequency was left out of the cross-references: its unknown
    # objective was said only once the frequency was fixed.
    path = workdir / "s.yaml"
    path.write_text(
        "version: 1\norganization:\n  name: Acme\n  units:\n"
        "    - {id: acme, name: Acme, level: company}\n"
        "  people:\n    - {id: ceo, name: Casey, unit: acme}\n"
        "objectives:\n  - {id: grow, title: Grow, level: strategic, unit: acme}\n"
        "kpis:\n"
        "  - {id: rev, name: Revenue, unit: acmee, frequency: sometimes, direction: increase,\n"
        "     supports: [{objective: grw}], contributes_to: [{kpi: nope}]}\n"
    )
    result = los("apply", str(path))
    assert result.exit_code == 2
    assert "s.yaml: 4 problems" in result.output, result.output
    assert "s.yaml:11: kpi rev: frequency: input should be" in result.output
    assert "s.yaml:11: kpi rev: unit: unknown unit 'acmee' (did you mean 'acme'?)" in result.output
    assert "kpi rev: supports: unknown objective 'grw' (did you mean 'grow'?)" in result.output
    assert "kpi rev: contributes_to: unknown kpi 'nope'" in result.output


def test_apply_says_each_owner_who_is_no_person_as_los_check_reports_it(
    los: Los, workdir: Path
) -> None:
    # SPEC 4, OW01: an owner who is not a known person is an error finding, not a file
    # error. The file is stored, and `los apply` says so with the check's own words.
    path = workdir / "s.yaml"
    path.write_text(
        "version: 1\norganization:\n  name: Acme\n  units:\n"
        "    - {id: acme, name: Acme, level: company}\n"
        "  people:\n    - {id: ceo, name: Casey, unit: acme}\n"
        "objectives:\n"
        "  - {id: grow, title: Grow, level: strategic, unit: acme, owner: ghost}\n"
        "kpis:\n"
        "  - {id: rev, name: Revenue, unit: acme, owner: nobody, frequency: monthly,\n"
        "     direction: increase, supports: [{objective: grow}]}\n"
    )
    said = [
        "s.yaml:9: objective 'grow' is owned by 'ghost', who is not in people",
        "s.yaml:11: KPI 'rev' is owned by 'nobody', who is not in people",
    ]
    applied = los("apply", "s.yaml")
    assert applied.exit_code == 0, applied.output
    assert "Applied s.yaml:" in applied.output, applied.output
    for line in said:
        assert f"OW01 missing-owner error: {line}" in applied.output, applied.output
    assert "2 owners not in people" in applied.output
    checked = los("check", "--select", "OW01")
    assert checked.exit_code == 1, checked.output
    for line in said:
        assert line in checked.output, checked.output
    again = los("apply", "s.yaml", "--format", "json")
    findings = json.loads(again.output)["findings"]
    assert [(f["code"], f["subject"]["id"], f["severity"]) for f in findings] == [
        ("OW01", "grow", "error"),
        ("OW01", "rev", "error"),
    ]
    # Once the owner is a person, nothing is said.
    path.write_text(path.read_text().replace("ghost", "ceo").replace("nobody", "ceo"))
    fixed = los("apply", "s.yaml")
    assert fixed.exit_code == 0 and "not in people" not in fixed.output, fixed.output


def test_a_file_whose_checks_name_an_unknown_rule_is_refused_before_anything_is_stored(
    los: Los, workdir: Path, db_url: str
) -> None:
    # `los check` refuses such a file, naming it and the setting; `los apply` says the same,
    # with exit 2, before storing anything (a dry run too), never with a traceback.
    path = workdir / "s.yaml"
    path.write_text(
        "version: 1\norganization:\n  name: Acme\n  units:\n"
        "    - {id: acme, name: Acme, level: company}\n"
        "  people:\n    - {id: ceo, name: Casey, unit: acme}\n"
        "objectives:\n"
        "  - {id: grow, title: Grow, level: strategic, unit: acme, owner: ceo}\n"
        "checks:\n  ignore: [ZZ99]\n"
    )
    said = "s.yaml: bad check settings: checks.ignore: unknown rule ZZ99"
    checked = los("check", "s.yaml")
    assert checked.exit_code == 2 and said in checked.output, checked.output
    for args in (("apply", "--dry-run", "s.yaml"), ("apply", "s.yaml")):
        result = los(*args)
        assert result.exit_code == 2, result.output
        assert said in result.output and "Traceback" not in result.output, result.output
    store = Store(db_url)
    try:
        with store.reading() as conn:
            assert conn.execute(select(t.objectives.c.id)).all() == []
    finally:
        store.close()


def test_an_apply_that_only_reorders_shows_the_new_order_everywhere(
    los: Los, workdir: Path
) -> None:
    from dataclasses import replace

    from lineofsight.spec.dump import dump_organization

    strategy = _copy(FULL, workdir / "strategy.yaml")
    assert los("apply", str(strategy)).exit_code == 0

    def status_order(kind: str) -> list[str]:
        result = los("status", "--as-of", "2026-06-30", "--format", "json")
        assert result.exit_code == 0, result.output
        return list(dict.fromkeys(row["id"] for row in json.loads(result.output)[kind]))

    kpis, objectives = status_order("kpis"), status_order("objectives")  # kept by the status
    org = read_strategy(strategy)
    moved = replace(org, kpis=org.kpis[1:] + org.kpis[:1], objectives=org.objectives[::-1])
    strategy.write_text(dump_organization(moved))
    result = los("apply", str(strategy), "--format", "json")
    assert result.exit_code == 0, result.output
    changes = json.loads(result.output)["changes"]
    assert {c["field"] for c in changes} == {"position"}
    first = org.kpis[0].id
    # The first KPI went last; the others kept their order: only the first one moved.
    kpi_changes = [(c["id"], c["before"], c["after"]) for c in changes if c["kind"] == "kpi"]
    assert kpi_changes == [(first, 1, len(org.kpis))]
    assert status_order("kpis") == kpis[1:] + kpis[:1]
    assert status_order("objectives") == objectives[::-1]
    exported = parse_strategy(los("export").output)
    assert [k.id for k in exported.kpis] == [k.id for k in moved.kpis]
    history = los("history", first).output
    assert "position" in history


def test_an_apply_that_would_undo_changes_made_in_the_web_app_says_them_and_needs_force(
    los: Los, workdir: Path, db_url: str
) -> None:
    import datetime as dt

    from lineofsight.services.export import stored_organization
    from lineofsight.services.strategy_edit import Edit, item_plain, save_edit

    strategy = _copy(FULL, workdir / "strategy.yaml")
    assert los("apply", str(strategy)).exit_code == 0
    store = Store(db_url)
    try:
        item = item_plain(stored_organization(store), "kpi", "nps")
        assert item is not None
        target = {"value": 50, "by": "2027-12-31"}
        save_edit(store, Edit("kpi", "nps", {**item, "target": target}), actor="ed")
        save_edit(store, Edit("kpi", "bed_occupancy", None), actor="ann")
    finally:
        store.close()
    today = dt.datetime.now(dt.UTC).date()
    dry = los("apply", str(strategy), "--dry-run")
    assert dry.exit_code == 0, dry.output
    shown = " ".join(dry.output.split())
    assert f'"by": "2027-12-31"}} (undoes ed\'s change in the web app on {today})' in shown
    assert (
        f"+ kpi bed_occupancy: Bed occupancy (undoes ann's change in the web app on {today})"
        in (shown)
    )
    assert "2 changes would undo what was made in the web app" in dry.output
    data = json.loads(los("apply", str(strategy), "--dry-run", "--format", "json").stdout)
    undoes = {(c["id"], c["field"]): c["undoes"] for c in data["changes"]}
    assert undoes == {
        ("nps", "target"): {"by": "ed", "on": str(today)},
        ("bed_occupancy", None): {"by": "ann", "on": str(today)},
    }
    refused = los("apply", str(strategy))
    assert refused.exit_code == 2
    said = " ".join(refused.output.split())
    assert "applying it would undo 2 changes made in the web app" in said
    # Exporting over the file one edits would replace its comments and layout: the advice
    # is to write what the store has into it (each change says it), or to export elsewhere.
    assert "to keep them, write what the store has (below) into strategy.yaml" in said
    assert "`los export exported.yaml` writes the store's whole strategy to another file" in said
    assert "los export strategy.yaml" not in said and "--force" in said
    assert (
        f"kpi nps: target changed back, changed in the web app by ed on {today}; "
        'the store has {"value": 50, "by": "2027-12-31"}'
    ) in said
    assert (
        f"kpi bed_occupancy added back, changed in the web app by ann on {today}; "
        "the store has no kpi bed_occupancy"
    ) in said
    as_json = los("apply", str(strategy), "--format", "json")
    assert as_json.exit_code == 2
    document = json.loads(as_json.stdout)
    assert "applying it would undo 2 changes made in the web app" in document["error"]
    assert len(document["problems"]) == 2
    exported = los("export").stdout
    assert "value: 50" in exported and "bed_occupancy" not in exported, "nothing was written"
    forced = los("apply", str(strategy), "--force")
    assert forced.exit_code == 0, forced.output
    assert "2 changes undid what was made in the web app (--force)" in forced.output
    assert "bed_occupancy" in los("export").stdout
    # The file applied is the store's again: a change of it undoes nothing made elsewhere.
    strategy.write_text(strategy.read_text().replace("value: 45,", "value: 47,"))
    again = los("apply", str(strategy))
    assert again.exit_code == 0 and "web app" not in again.output


def test_a_changed_source_is_shown_down_to_the_setting_that_changed(
    los: Los, workdir: Path
) -> None:
    from tests.sources.facts import strategy

    query = "select period, value from facts where day >= :since"
    sources = {
        "duck": {"url": "env:DUCK_URL", "timeout": 30},
        "lite": {"url": "env:LITE_URL", "query": query, "timeout": 30},
    }
    kpis = [{"id": "revenue", "source": {"from": "lite"}}]
    (workdir / "s.yaml").write_text(strategy(sources, kpis))
    assert los("apply", "s.yaml").exit_code == 0
    sources["lite"]["timeout"] = 60
    (workdir / "s.yaml").write_text(strategy(sources, kpis))
    one = los("apply", "s.yaml")
    assert one.exit_code == 0, one.output
    assert "~ organization organization: sources.lite.timeout: 30.0 -> 60.0" in one.output
    sources["duck"]["timeout"] = 10
    sources["added"] = {"url": "env:ADDED_URL"}
    (workdir / "s.yaml").write_text(strategy(sources, kpis))
    many = los("apply", "--dry-run", "s.yaml")
    line = next(x for x in many.output.splitlines() if "sources" in x)
    before, after = line.split(": sources: ", 1)[1].split(" -> ")
    assert "duck" in before and "lite" not in before and "added" not in before
    assert 'timeout": 10.0}, "ad' in after and "lite" not in after

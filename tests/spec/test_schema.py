"""`los schema`: a JSON Schema that accepts the valid fixtures and rejects unknown keys."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.conftest import FIXTURES, invoke

VALID = sorted((FIXTURES / "specs" / "valid").glob("*.yaml"))
EXAMPLES = sorted(
    (Path(__file__).parents[2] / "src" / "lineofsight" / "examples").glob("*/strategy.yaml")
)


def _yaml(path: Path) -> object:
    # JSON Schema speaks JSON: dates become text as a JSON-speaking editor would see them.
    return json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))


@pytest.fixture(scope="module")
def schema() -> dict:
    result = invoke(["schema"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    jsonschema.Draft202012Validator.check_schema(data)
    return data


@pytest.mark.parametrize("path", VALID + EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_schema_accepts_valid_files(schema: dict, path: Path) -> None:
    jsonschema.validate(_yaml(path), schema)


def test_schema_rejects_unknown_key(schema: dict) -> None:
    data = _yaml(VALID[0])
    assert isinstance(data, dict)
    data["organization"]["colour"] = "blue"
    with pytest.raises(jsonschema.ValidationError, match="colour"):
        jsonschema.validate(data, schema)


def test_schema_documents_fields(schema: dict) -> None:
    kpi = schema["$defs"]["KpiSpec"]
    assert kpi["additionalProperties"] is False
    assert {"id", "name", "unit", "frequency", "direction"} <= set(kpi["required"])
    assert "description" in kpi["properties"]["formula"]
    assert schema["$schema"].endswith("2020-12/schema")


def test_schema_to_file(tmp_path: Path) -> None:
    target = tmp_path / "los.schema.json"
    result = invoke(["schema", "-o", str(target)])
    assert result.exit_code == 0
    assert json.loads(target.read_text())["title"] == "Line of Sight strategy file"

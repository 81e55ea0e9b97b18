"""Read and write strategy files: the only functions of this layer that touch the disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lineofsight.domain.model import Organization
from lineofsight.domain.text import plural
from lineofsight.errors import Problem, SpecError
from lineofsight.gcpause import paused_gc
from lineofsight.spec.build import build_organization
from lineofsight.spec.digest import bytes_digest
from lineofsight.spec.dump import dump_organization
from lineofsight.spec.fastyaml import load_yaml_fast
from lineofsight.spec.validate import validate_document
from lineofsight.spec.yamlload import LineMap, load_yaml


def parse_strategy(text: str, file: str = "strategy.yaml") -> Organization:
    """The organisation a strategy file's text describes; SpecError lists every problem."""
    with paused_gc():
        # The fast reader knows only the lines of the items; a file with any problem is read
        # again with every line so that each problem is reported where it is.
        fast = load_yaml_fast(text)
        if fast is not None:
            data, item_lines = fast
            lines = LineMap(item_lines)
            model, found = validate_document(data, file, lines)
            if model is not None and not found:
                return build_organization(model, file, lines)
        return _parse_with_lines(text, file)


def parse_document(data: Any, file: str = "strategy.yaml") -> Organization:
    """The organisation a strategy document already held as plain data describes (what the
    YAML of a strategy file reads to: mappings, lists, text, numbers; dates as dates or as
    ISO text), validated exactly as a file is; SpecError lists every problem. A program that
    changes a strategy it holds (the web app's edit forms) skips writing and reading YAML."""
    with paused_gc():
        lines = LineMap()
        model, problems = validate_document(data, file, lines)
        if problems or model is None:
            raise SpecError(f"{file}: {plural(len(problems), 'problem')}", problems)
        return build_organization(model, file, lines)


def _parse_with_lines(text: str, file: str) -> Organization:
    data, lines, yaml_problems = load_yaml(text)
    problems = [Problem(file, p.line, p.message) for p in yaml_problems]
    if data is None and not problems:
        problems.append(Problem(file, 1, "the file is empty"))
    if problems and data is None:
        raise SpecError(f"{file}: {plural(len(problems), 'problem')}", problems)
    model, found = validate_document(data, file, lines)
    problems.extend(found)
    if problems or model is None:
        problems.sort(key=lambda p: p.line)
        raise SpecError(f"{file}: {plural(len(problems), 'problem')}", problems)
    return build_organization(model, file, lines)


def applied_action_lines(path: Path, digest: str) -> dict[str, int]:
    """The line of each action the strategy file `path` declares, by id, while the file is
    the one applied (its bytes' digest is `digest`, what the store keeps); none once it
    changed or when it cannot be read: the store keeps no line of an action, and a file
    edited since may have moved them."""
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    if bytes_digest(data) != digest:
        return {}
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    with paused_gc():
        fast = load_yaml_fast(text)
        if fast is not None:
            document, item_lines = fast
            lines = LineMap(item_lines)
        else:
            document, lines, _problems = load_yaml(text)
    declared = document.get("actions") if isinstance(document, dict) else None
    found: dict[str, int] = {}
    for index, action in enumerate(declared if isinstance(declared, list) else ()):
        if isinstance(action, dict) and isinstance(action.get("id"), str):
            found.setdefault(action["id"], lines.line_of(("actions", index)))
    return found


def read_strategy(path: Path) -> Organization:
    """Read and validate a strategy file from disk."""
    return read_strategy_file(path)[0]


def read_strategy_file(path: Path) -> tuple[Organization, str]:
    """Read and validate a strategy file from disk, with the digest (`digest.bytes_digest`) of the
    very bytes read: what the store keeps of the file it applied."""
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SpecError(f"{path}: is a folder, not a strategy file") from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    # Lines end as Python reads text (\r\n and \r as \n): the lines the items are found at.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return parse_strategy(text, str(path)), bytes_digest(data)


def write_strategy(org: Organization, path: Path) -> None:
    """Write the organisation as a strategy file, replacing the file in one step."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(dump_organization(org), encoding="utf-8")
    tmp.replace(path)

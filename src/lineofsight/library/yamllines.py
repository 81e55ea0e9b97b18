"""Read a catalogue file into plain data while keeping the line of every key and item.

The catalogue is validated as plain data by pydantic; a problem found at a data path is
reported at the line this map gives for it. (The library sits beside spec/ in the layers, so
it keeps its own small reader rather than importing the strategy file's.)
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

try:  # the C parser is several times faster
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - libyaml is in every PyYAML wheel we install
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Path = tuple[Hashable, ...]


@dataclass
class Lines:
    """Lines (1-based) of the keys and items of a YAML document, by path from the root."""

    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Sequence[Hashable]) -> int:
        """The line of the deepest prefix of `path` that the document has (1 at worst)."""
        parts = tuple(path)
        while parts:
            line = self.lines.get(parts)
            if line is not None:
                return line
            parts = parts[:-1]
        return self.lines.get((), 1)


def read_yaml(text: str) -> tuple[Any, Lines, list[tuple[int, str]]]:
    """Plain data, its line map, and (line, reason) problems; data is None on a syntax error."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        return None, Lines(), [(line, f"YAML syntax error: {exc.problem or exc.context}")]
    except yaml.YAMLError as exc:
        return None, Lines(), [(1, f"YAML error: {exc}")]
    lines = Lines()
    problems: list[tuple[int, str]] = []
    try:
        data = None if node is None else _convert(node, (), lines, problems, loader)
    finally:
        loader.dispose()
    return data, lines, problems


def _convert(
    node: yaml.Node, path: Path, lines: Lines, problems: list[tuple[int, str]], loader: Any
) -> Any:
    lines.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            key = _convert(key_node, (*path, "<key>"), lines, problems, loader)
            if isinstance(key, list | dict):
                problems.append((line, "a key must be a scalar"))
                continue
            if key in result:
                first = lines.lines.get((*path, key), 0)
                problems.append((line, f"duplicate key {key!r} (first at line {first})"))
                continue
            lines.lines[(*path, key)] = line
            result[key] = _convert(value_node, (*path, key), lines, problems, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        items: list[Any] = []
        for index, item_node in enumerate(node.value):
            lines.lines[(*path, index)] = item_node.start_mark.line + 1
            items.append(_convert(item_node, (*path, index), lines, problems, loader))
        return items
    try:
        return loader.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
        return node.value

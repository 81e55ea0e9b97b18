"""Read YAML into plain Python data while remembering the line of every key and item.

The strategy file is validated as plain data (by pydantic) and problems are reported by path;
the `LineMap` turns such a path back into the line a user can jump to.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from lineofsight.gcpause import paused_gc as paused_gc  # its home before: kept importable here
from lineofsight.spec.yamlsyntax import indentation_problem

try:  # the C parser is several times faster on large files
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - libyaml is in every PyYAML wheel we install
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Path = tuple[Hashable, ...]


@dataclass
class LineMap:
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


@dataclass(frozen=True)
class YamlProblem:
    """A problem found while reading YAML: a line and a reason."""

    line: int
    message: str


# What a strategy file may expand to. Aliases (`*name`) repeat what they name, so a few hundred
# bytes of nested aliases can stand for billions of values ("billion laughs"), and one alias of
# a long text, repeated, for gigabytes of text that every later copy (validation, JSON, history)
# pays for again. The reader weighs what it builds, alias uses included: one per node plus the
# characters of each scalar, and stops past a budget proportional to the file's size. Without
# aliases a file weighs at most about two per byte (`{a,b}`: a key, its text and its empty
# value), so the budget leaves room for ordinary use of aliases while a file over it fails in
# milliseconds, in bounded memory.
EXPANSION_PER_BYTE = 4
MIN_EXPANSION = 1_000_000
# Deeper than any strategy file needs; well below Python's recursion limit.
MAX_DEPTH = 100


def expansion_budget(size: int) -> int:
    """How much a text of `size` bytes may expand to: YAML nodes plus characters of scalars."""
    return max(MIN_EXPANSION, EXPANSION_PER_BYTE * size)


class _OverBudget(Exception):
    """The document expands past its budget or nests too deeply; stops the conversion."""

    def __init__(self, problem: YamlProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def load_yaml(text: str) -> tuple[Any, LineMap, list[YamlProblem]]:
    """Parse one YAML document into plain data, its line map and any problems found.

    Duplicate keys are problems (YAML would silently keep the last one). A syntax error, or a
    document that expands past `expansion_budget` or nests deeper than `MAX_DEPTH`, is returned as
    the only problem, with `None` as the data.
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        # A line indented unlike those around it, said in the file's terms; any other error
        # in the parser's words.
        explained = indentation_problem(text, exc)
        if explained is not None:
            return None, LineMap(), [YamlProblem(*explained)]
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        reason = exc.problem or exc.context or "invalid YAML"
        return None, LineMap(), [YamlProblem(line, f"YAML syntax error: {reason}")]
    except yaml.YAMLError as exc:
        return None, LineMap(), [YamlProblem(1, f"YAML error: {exc}")]
    walker = _Converter(loader, expansion_budget(len(text.encode("utf-8", "surrogatepass"))))
    try:
        data = None if node is None else walker.convert(node, (), 0)
    except _OverBudget as exc:
        return None, LineMap(), [exc.problem]
    finally:
        loader.dispose()
    return data, walker.lines, walker.problems


class _Converter:
    """Turns composed nodes into plain data, keeping lines and weighing what it builds."""

    def __init__(self, loader: Any, budget: int) -> None:
        self.loader = loader
        self.budget = budget
        self.weight = 0
        self.lines = LineMap()
        self.problems: list[YamlProblem] = []

    def convert(self, node: yaml.Node, path: Path, depth: int) -> Any:
        # An explicit loop over nodes (not the library's constructor) is what lets us keep
        # lines, and weigh: an alias is the node it names, so a node is met once per use and
        # a long scalar weighs its length every time it is used.
        self.weight += 1
        if isinstance(node, yaml.ScalarNode):
            self.weight += len(node.value)
        if self.weight > self.budget:
            raise _OverBudget(
                YamlProblem(
                    node.start_mark.line + 1,
                    f"the file expands to more than {self.budget:,} YAML nodes and characters"
                    " once its aliases (*name) are expanded",
                )
            )
        if depth > MAX_DEPTH:
            raise _OverBudget(
                YamlProblem(
                    node.start_mark.line + 1,
                    f"the file nests deeper than {MAX_DEPTH} levels (or an alias contains itself)",
                )
            )
        lines, problems = self.lines, self.problems
        lines.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    problems.append(
                        YamlProblem(
                            key_node.start_mark.line + 1, "merge keys (<<) are not supported"
                        )
                    )
                    continue
                key = self.convert(key_node, (*path, "<key>"), depth + 1)
                if not isinstance(key, Hashable) or isinstance(key, list | dict):
                    problems.append(
                        YamlProblem(key_node.start_mark.line + 1, "a key must be a scalar")
                    )
                    continue
                if key in result:
                    first = lines.lines.get((*path, key), 0)
                    problems.append(
                        YamlProblem(
                            key_node.start_mark.line + 1,
                            f"duplicate key {key!r} (first at line {first})",
                        )
                    )
                    continue
                lines.lines[(*path, key)] = key_node.start_mark.line + 1
                result[key] = self.convert(value_node, (*path, key), depth + 1)
            return result
        if isinstance(node, yaml.SequenceNode):
            items: list[Any] = []
            for index, item_node in enumerate(node.value):
                lines.lines[(*path, index)] = item_node.start_mark.line + 1
                items.append(self.convert(item_node, (*path, index), depth + 1))
            return items
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError):
            # e.g. `2027-13-01` looks like a date to YAML but is none: keep the text, and the
            # schema reports it against the key that expects a date.
            return node.value

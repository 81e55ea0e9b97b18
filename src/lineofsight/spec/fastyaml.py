"""A fast reader for large strategy files: rapidyaml, read the way PyYAML reads.

`yamlload.load_yaml` keeps the line of every key and item but composes a node per scalar in
Python: about 75 s for a 100,000-KPI file. This reader parses with rapidyaml (C++), converts
the tree to Python through its JSON emitter and `json.loads`, and finds the line of each item
of the four item lists (units, people, objectives, KPIs) from where rapidyaml's tree points
into the text. Those item lines are all that a sound file needs (they become each item's
`Location`); a file with any problem is read again by `load_yaml` to report exact lines.

The data must be exactly what `load_yaml` returns. rapidyaml follows YAML 1.2 while PyYAML
follows YAML 1.1 (`yes`, `0x1F`, `1_000`, `2026-01-01` and friends are not strings there), so
every plain scalar is resolved here with PyYAML's own resolver and constructors. JSON forgets
whether a scalar was quoted, so a text scan first collects every value that was quoted or
written as a block scalar; a string that PyYAML would turn into something else when plain is
only resolved when no quoted scalar has that value. Whenever the reader cannot be sure it
gives up (returns None) and the caller uses `load_yaml`: anchors, aliases, tags, explicit
keys, directives, several documents, tabs, unusual line breaks, duplicate keys, merge keys,
numbers that JSON and YAML 1.1 read differently, or anything rapidyaml rejects.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import yaml

from lineofsight.spec.yamlload import expansion_budget
from lineofsight.spec.yamltext import Unsure, plain_text, quoted_values

try:
    import ryml  # type: ignore[import-untyped]
    from ryml import _ryml
except ImportError:  # pragma: no cover - rapidyaml is a dependency; without it, the slow path
    ryml = _ryml = None

ItemLines = dict[tuple[Hashable, ...], int]

# The item lists whose items carry a location, as paths from the root.
ITEM_LISTS: tuple[tuple[str, ...], ...] = (
    ("organization", "units"),
    ("organization", "people"),
    ("objectives",),
    ("kpis",),
    ("actions",),
)


def load_yaml_fast(text: str) -> tuple[Any, ItemLines] | None:
    """The document's data and the line of every item of the item lists, or None if unsure."""
    if ryml is None:  # pragma: no cover
        return None
    source = text.encode("utf-8")
    if not plain_text(text, source):
        return None
    try:
        quoted = quoted_values(text)
        buffer = bytearray(source)  # rapidyaml rewrites some scalars in place
        tree = ryml.Tree()
        # Room for every node up front: growing the tree while parsing costs more than parsing.
        tree.reserve(source.count(b":") + source.count(b"- ") + source.count(b",") + 16)
        # rapidyaml complains on standard error of bad text, and of a tree too deep to emit.
        with _quiet_stderr():
            ryml.parse_in_place(buffer, tree)
            root = tree.root_id()
            # rapidyaml keeps an alias as one node, so the tree is as large as the text; a
            # tree over the budget anyway goes to load_yaml, which reports it.
            if not tree.is_map(root) or tree.size() > expansion_budget(len(source)):
                return None
            lines = _item_lines(tree, buffer, source)
            emitted = _emit_json(tree, root, len(source))
        del tree, buffer
        data = _Decoder(emitted, quoted).decode()
    except (Unsure, ValueError, RecursionError):
        return None
    except Exception as exc:  # rapidyaml's parse errors have no common base but Exception
        if isinstance(exc, ryml.ExceptionBasic):
            return None
        raise
    if not isinstance(data, dict):
        return None
    return data, lines


def _emit_json(tree: Any, root: int, size_hint: int) -> bytearray:
    out = bytearray(size_hint * 3 // 2 + 4096)
    failed, length = ryml.emit_json_to_substr(tree, root, out)
    if failed:
        out = bytearray(length)
        failed, length = ryml.emit_json_to_substr(tree, root, out)
        if failed:  # pragma: no cover - the second buffer has the size rapidyaml asked for
            raise Unsure
    del out[length:]
    return out


# ---------------------------------------------------------------- item lines


class _Buffer(ctypes.Structure):
    _fields_ = (
        ("buf", ctypes.c_void_p),
        ("obj", ctypes.py_object),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", ctypes.c_int),
        ("ndim", ctypes.c_int),
        ("format", ctypes.c_char_p),
        ("shape", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p),
        ("internal", ctypes.c_void_p),
    )


_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = (ctypes.py_object, ctypes.POINTER(_Buffer), ctypes.c_int)
_release_buffer = ctypes.pythonapi.PyBuffer_Release
_release_buffer.argtypes = (ctypes.POINTER(_Buffer),)


def _address(view: Any) -> int:
    """Where a buffer's memory starts: rapidyaml's scalars are views into the parsed text."""
    info = _Buffer()
    _get_buffer(view, ctypes.byref(info), 0)
    try:
        return int(info.buf or 0)
    finally:
        _release_buffer(ctypes.byref(info))


def _item_lines(tree: Any, buffer: bytearray, source: bytes) -> ItemLines:
    lines: ItemLines = {}
    base = _address(memoryview(buffer))
    for path in ITEM_LISTS:
        node = _find(tree, tree.root_id(), path)
        if node is None or tree.num_children(node) == 0:
            continue
        offsets = _dash_offsets(tree, node, source, base)
        if offsets is None:
            offsets = _item_offsets(tree, node, source, base)
        line, previous = 1, 0
        for index, offset in enumerate(offsets):
            if offset < previous:
                raise Unsure
            line += source.count(b"\n", previous, offset)
            previous = offset
            lines[(*path, index)] = line
    return lines


def _dash_offsets(tree: Any, sequence: int, source: bytes, base: int) -> list[int] | None:
    """Where each item starts, from the text: the `- ` of a block sequence at one column.

    Exact when the count agrees: every item of the sequence has its dash at that column,
    followed by a space and its first key (or `{`) on the same line, so only lines inside a
    multi-line scalar or flow collection could match as well, and those would make one too
    many. None when the items are written otherwise (the tree is asked item by item).
    """
    first = _item_offsets(tree, sequence, source, base, only="first")[0]
    last = _item_offsets(tree, sequence, source, base, only="last")[0]
    line_start = source.rfind(b"\n", 0, first) + 1
    entry = _ENTRY.fullmatch(source, line_start, first)
    if entry is None:
        return None
    dash = b"\n" + entry.group(1) + b"-"
    if re.compile(re.escape(dash) + rb"(?: *\n| +#)").search(source, line_start - 1, last):
        return None  # an item whose first key is on a later line than its dash
    entries = re.compile(re.escape(dash + b" "))
    found = [match.start() + 1 for match in entries.finditer(source, line_start - 1, last)]
    if len(found) != tree.num_children(sequence):
        return None
    return found


_ENTRY = re.compile(rb"( *)- +[\"']?")


def _find(tree: Any, node: int, path: tuple[str, ...]) -> int | None:
    for key in path:
        if not tree.is_map(node):
            return None
        child = tree.first_child(node)
        while child != ryml.NONE and bytes(tree.key(child)) != key.encode():
            child = tree.next_sibling(child)
        if child == ryml.NONE:
            return None
        node = child
    return node if tree.is_seq(node) else None


def _item_offsets(tree: Any, sequence: int, source: bytes, base: int, only: str = "") -> list[int]:
    """Where PyYAML's node of each item starts: its first key, or the `{` of a flow map.

    A quoted first key starts one quote earlier, on the same line: the line is what counts.
    Items that are not mappings with a key are left to load_yaml (the file has a problem).
    """
    # The module's functions, not the Tree's methods: each of those is one more Python call.
    first_child, next_sibling = _ryml.Tree_first_child, _ryml.Tree_next_sibling
    type_of, key_of = _ryml.Tree_type, _ryml.Tree_key
    none, size = ryml.NONE, len(source)
    map_type, flow = ryml.MAP, ryml.FLOW_SL | ryml.FLOW_ML
    info = _Buffer()
    info_ref = ctypes.byref(info)
    offsets = []
    item = _ryml.Tree_last_child(tree, sequence) if only == "last" else first_child(tree, sequence)
    while item != none:
        kind = type_of(tree, item)
        first = first_child(tree, item)
        if not kind & map_type or first == none:
            raise Unsure
        _get_buffer(key_of(tree, first), info_ref, 0)
        offset = (info.buf or 0) - base
        _release_buffer(info_ref)
        if not 0 < offset < size:
            raise Unsure  # the key was rewritten elsewhere (escapes)
        if kind & flow:
            # PyYAML's flow mapping starts at its `{`; only blanks (and a quote) come between.
            brace = source.rfind(b"{", 0, offset)
            if (
                brace < 0
                or source[brace + 1 : offset].strip(b" \n'\"")
                or (offset - brace > 1 and source[brace + 1 : offset - 1].strip(b" \n"))
            ):
                raise Unsure
            offset = brace
        offsets.append(offset)
        item = none if only else next_sibling(tree, item)
    return offsets


# ---------------------------------------------------------------- plain scalars, the YAML 1.1 way


def _float(text: str) -> float:
    # rapidyaml writes plain numbers as JSON numbers, normalising some (`1.` -> `1.0`); only
    # the simple decimals mean the same in JSON and in YAML 1.1 (`1e5` is text there).
    if _SIMPLE_DECIMAL.fullmatch(text) is None:
        raise Unsure
    return float(text)


_SIMPLE_DECIMAL = re.compile(r"-?[0-9]+\.[0-9]+")
# A value rapidyaml always writes as a JSON number when it is plain (tests/spec check it).
_BARE_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_constructor = yaml.constructor.SafeConstructor()
_resolver = yaml.resolver.Resolver()
_STR = "tag:yaml.org,2002:str"
# A JSON string whose text one of PyYAML's implicit resolvers could take for something else than
# a string. Such texts hold no character that JSON escapes (tabs are never let through), so
# they appear verbatim; between two strings of JSON there is never such a text, so a match
# starts at a string's opening quote (or at an escaped quote inside one: a harmless extra).
_IMPLICIT_FIRST = "".join(sorted(yaml.resolver.Resolver.yaml_implicit_resolvers))
_IMPLICIT_BODIES = sorted(
    {
        pattern.pattern.removeprefix("^").removesuffix("$")
        for resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.values()
        for _tag, pattern in resolvers
    }
)
# The lookahead lets most strings fail at their first character.
_IMPLICIT_STRING = re.compile(
    f'"(?=["{re.escape(_IMPLICIT_FIRST)}])({"|".join(_IMPLICIT_BODIES)})"(:?)'.encode(),
    re.VERBOSE,
)
# A JSON number no document makes (checked: a text holding it is decoded the slow way).
_MARKER_TEXT = "0.0E-4242"
_MARKER = _MARKER_TEXT.encode()


def _mapping(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A mapping whose keys are all plain text: only duplicate, null and merge keys matter."""
    result = dict(pairs)
    if len(result) != len(pairs) or "" in result or "<<" in result:
        raise Unsure
    return result


_is_str = str.__instancecheck__
_is_list = list.__instancecheck__


@lru_cache(maxsize=65536)
def _plain_value(text: str) -> Any:
    """What PyYAML makes of `text` written as a plain scalar; the text itself for a string."""
    tag = _resolver.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    if tag == _STR:
        return text
    node = yaml.ScalarNode(tag, text)
    try:
        return _constructor.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
        return text  # as load_yaml does: e.g. `2027-13-01` stays text
    finally:
        _constructor.constructed_objects.clear()


class _Decoder:
    """`json.loads` hooks that give each mapping and list PyYAML's values.

    `implicit` holds every string of the JSON text that PyYAML might read as something else
    (a superset); mappings and lists without one are left as they are, checked in C.
    """

    def __init__(self, emitted: bytes | bytearray, quoted: frozenset[str]) -> None:
        self.emitted = emitted
        self.quoted = quoted
        self.implicit: frozenset[str] = frozenset()
        self.keys: frozenset[str] = frozenset()
        self.values: list[Any] = []
        self.markers: dict[str, bytes] = {}
        self.implicit_keys = False

    def decode(self) -> Any:
        """The data, with PyYAML's values.

        Usually no key is an implicit scalar: then each value that is one is written into the
        JSON text as a marker number, which `number` turns into its value, and the mappings
        need only a check for duplicate keys. Otherwise every mapping is looked at in full.
        """
        emitted = self.emitted
        if _MARKER not in emitted:
            marked = _IMPLICIT_STRING.sub(self._mark, emitted)
            if not self.implicit_keys:
                return json.loads(marked, object_pairs_hook=_mapping, parse_float=self.number)
        found = {match.decode() for match, _colon in _IMPLICIT_STRING.findall(emitted)}
        self.implicit = frozenset(found)
        self.keys = self.implicit | {"", "<<"}
        return json.loads(emitted, object_pairs_hook=self.mapping, parse_float=_float)

    def _mark(self, match: re.Match[bytes]) -> bytes:
        if match.group(2):
            self.implicit_keys = True  # a key: keys cannot be numbers in JSON
            return match.group()
        text = match.group(1).decode()
        marker = self.markers.get(text)
        if marker is None:
            value = self.value(text)
            if value is text:
                marker = match.group()
            else:
                marker = _MARKER + str(len(self.values)).encode()
                self.values.append(value)
            self.markers[text] = marker
        return marker

    def number(self, text: str) -> Any:
        if text.startswith(_MARKER_TEXT):
            return self.values[int(text[len(_MARKER_TEXT) :])]
        return _float(text)

    def key(self, text: str) -> Any:
        """PyYAML's value for a key (JSON writes every key as a string)."""
        return self.value(text, key=True)

    def value(self, text: str, *, key: bool = False) -> Any:
        """PyYAML's value for a string that rapidyaml read (quoted or not)."""
        if not text or "\n" in text:
            return text  # "" is quoted or a block scalar (rapidyaml gives null for plain)
        if not key and _BARE_NUMBER.fullmatch(text):
            return text  # rapidyaml writes a plain number bare: as a string, it was quoted
        value = _plain_value(text)
        if type(value) is str:
            return text
        if text in self.quoted:
            raise Unsure  # written plain somewhere and quoted elsewhere: cannot tell which
        return value

    def mapping(self, pairs: list[tuple[str, Any]]) -> dict[Any, Any]:
        result = dict(pairs)
        if len(result) != len(pairs):
            raise Unsure  # a duplicate key: load_yaml reports it
        if not self.keys.isdisjoint(result):
            if "" in result or "<<" in result:
                raise Unsure  # a null key (`: x`) or a merge key: load_yaml reports them
            key_of = self.key
            result = {key_of(key): item for key, item in pairs}
            if len(result) != len(pairs):
                raise Unsure  # keys that differ as text but not as values, such as 1 and 01
        values = result.values()
        if not self.implicit.isdisjoint(filter(_is_str, values)):
            value = self.value
            for key, item in result.items():
                if type(item) is str:
                    result[key] = value(item)
        for item in filter(_is_list, values):
            self.sequence(item)
        return result

    def sequence(self, items: list[Any]) -> None:
        if not self.implicit.isdisjoint(filter(_is_str, items)):
            value = self.value
            for index, item in enumerate(items):
                if type(item) is str:
                    items[index] = value(item)
        for item in filter(_is_list, items):
            self.sequence(item)


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """rapidyaml prints its parse errors on the process's standard error: not for our users."""
    try:
        saved = os.dup(2)
    except OSError:  # pragma: no cover - no standard error to silence
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)

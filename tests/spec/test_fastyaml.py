"""The fast YAML reader gives exactly PyYAML's data and item lines, or declines.

`load_yaml_fast` may return None for any document; when it returns data, that data must be
what `load_yaml` (PyYAML, line by line) reads, value for value and type for type, with the
same line for every item of the four item lists, and PyYAML must have found no problem.
Checked on the examples, the fixtures, documents written to trip it, and random documents.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lineofsight.spec.fastyaml import ITEM_LISTS, load_yaml_fast
from lineofsight.spec.files import parse_strategy
from lineofsight.spec.yamlload import load_yaml
from lineofsight.spec.yamltext import AMBIGUOUS_ALPHABET

SPECS = Path(__file__).parent.parent / "fixtures" / "specs"
EXAMPLES = Path(__file__).parents[2] / "src" / "lineofsight" / "examples"
FILES = sorted(SPECS.glob("*/*.yaml")) + sorted(EXAMPLES.glob("*/strategy.yaml"))


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types, all the way down (NaN equal to NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def item_lines(lines: dict[tuple[Any, ...], int]) -> dict[tuple[Any, ...], int]:
    return {
        path: line
        for path, line in lines.items()
        if path[:-1] in ITEM_LISTS and isinstance(path[-1], int)
    }


def agree(text: str) -> bool:
    """Assert that the fast reader agrees with PyYAML; whether it read the text at all."""
    fast = load_yaml_fast(text)
    if fast is None:
        return False
    data, lines, problems = load_yaml(text)
    assert problems == [], f"the fast reader read a document PyYAML rejects: {problems}"
    assert same(fast[0], data), f"different data:\n{fast[0]!r}\n{data!r}"
    assert fast[1] == item_lines(lines.lines)
    return True


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_files_agree(path: Path) -> None:
    agree(path.read_text())


@pytest.mark.parametrize(
    "path", sorted(EXAMPLES.glob("*/strategy.yaml")), ids=lambda p: p.parent.name
)
def test_examples_take_the_fast_path(path: Path) -> None:
    assert agree(path.read_text())


def test_valid_fixtures_take_the_fast_path() -> None:
    assert all(agree(path.read_text()) for path in sorted((SPECS / "valid").glob("*.yaml")))


def test_generated_organisation_takes_the_fast_path(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))
    from generate import generate

    generate(tmp_path, kpis=300, units=60, months=2)
    assert agree((tmp_path / "strategy.yaml").read_text())


# Documents where the two readers could part ways: YAML 1.1 scalars, quoting, flow and block
# styles, item lines written every way, and syntax that only one of them accepts.
TRICKY = [
    "a: yes\nb: 'yes'\nc: No\nd: on\ne: OFF\nf: y\n",
    # A quote at the start of a block scalar's line is not a quoted scalar (found by hypothesis)
    'objectives:\n  - id: a\n    name:\n      - |\n          "\nkpis:\n  - {id: a, name: []}\n'
    'extra: "yes"\n',
    "a: 2026-01-01\nb: '2026-01-01'\n",
    'a: 2026-01-01\nb: "2026-01-01"\n',
    "a: 2026-13-01\nb: 2001-12-14 21:59:43.10 -5\nc: 2001-12-14t21:59:43Z\n",
    "a: 0x1F\nb: 012\nc: 1_000\nd: +12\ne: -0\nf: 1:20\ng: 0b101\nh: 0o17\n",
    "a: 1e5\nb: 1.5e+3\nc: .5\nd: 1.\ne: .inf\nf: -.INF\ng: .nan\nh: 1.5e3\n",
    "a: ~\nb: null\nc: Null\nd:\ne: ''\nf: \"\"\n",
    "2026: a\n'2027': b\n2026-01-01: c\nyes: d\n~: e\n",
    "a: =\nb: '<<'\n",
    "<<: {a: 1}\n",
    "a: 1\na: 2\n",
    "a: {b: 1, b: 2}\n",
    ": x\n",
    "a: b: c\n",
    "a: ]x\n",
    "a: }x\n",
    "a: [b, :c]\n",
    "a: [b, ?c]\n",
    "a: @x\n",
    "a: `x\n",
    "a: !x y\n",
    "a: &x 1\nb: *x\n",
    "a: !!str 12\n",
    "--- \na: 1\n",
    "a: 1\n---\nb: 2\n",
    "%YAML 1.1\n---\na: 1\n",
    "a:\n\t- x\n",
    "a: b\tc\n",
    "a: 1\r\nb: 2\r\n",
    "\ufeffa: 1\n",
    "a: x\u2028y\n",
    "a: |\n  yes\nb: |-\n  yes\nc: >-\n  2026\n  01\nd: >\n  no\n",
    "a: |-\n  2026-01-01\nb: 2026-01-01\n",
    "a: >-\n  2001-12-14\n  21:59:43\nb: 2001-12-14 21:59:43\n",
    'a: "\\x79es"\nb: yes\n',
    'a: "2026-\n  01-01"\nb: 2026-01-01\n',
    "a: 'it''s'\nb: \"say \\\"hi\\\"\"\nc: x#y\nd: a -> b\ne: x # comment\n",
    "a: 2001-12-14\n  21:59:43\n",
    "kpis:\n  - id: a\n    name: A\n  -\n    id: b\n  - # note\n    id: c\n  - {id: d}\n"
    "  - {\n    id: e}\n"
    '  - "id": f\n  - {"id": g}\n  - \'id\': h\n',
    "kpis: [{id: a}, {id: b}]\nobjectives:\n- id: c\n- id: d\n",
    "organization:\n  units:\n    - {id: u, name: U}\n    -   id: v\n        name: V\n"
    "  people:\n  - id: p\n  - id: q\nkpis:\n- a\n- [b]\n",
    'kpis:\n  - id: a\n    description: "line one\n      - id: fake"\n  - id: b\n',
    "kpis:\n  - id: a\n    supports: [x,\n  - id: fake]\n  - id: b\n",
    "kpis:\n  - id: a\n    description: |\n      - id: fake\n  - id: b\n",
    "a: [1, 2,]\nb: {c: }\nc: [d: e]\nd: {e, f: g}\n",
    "a: [1:]\n",
    "a: [b, c:]\n",
    "a: {b:, c: d}\n",
    "a: [b:\n  ]\nc: [d:e, f]\ng: {h :i}\n",
    "a: 'x'y'\n",
    'a: "b" c\n',
    "a:\n  - b\n  c: d\n",
    "# only a comment\n",
    "",
    "just text\n",
    "- a\n- b\n",
    "a: 12345678901234567890\nb: -1.0e-5\nc: 3.14159265358979323846\n",
]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_documents_agree(text: str) -> None:
    agree(text)


def test_tricky_documents_mostly_take_the_fast_path() -> None:
    # The reader must not decline everything to be right.
    assert sum(agree(text) for text in TRICKY) >= 10


# ---------------------------------------------------------------- random documents

# What strategy files hold, with YAML 1.1's traps among it; and text that breaks the syntax.
SCALARS = [
    "a", "x y", "Tier 1", "yes", "No", "on", "OFF", "true", "False", "~", "null", "",
    "2026", "2026-01-01", "2027-13-01", "2026-Q1", "2026-07", "1:20", "0x1F", "012", "1_000",
    "-0", ".5", "1.", ".inf", ".nan", "=", "<<", "-x", "x#y", "it's", 'say "hi"', "ünï",
    "a -> b", "50%", "a,b", "p@x.com", "a\nb", "a\n\nb", " lead", "trail ", "2001-12-14 21:59:43",
]  # fmt: skip
BREAKING = ["+12", "1e5", "-", "?x", ":x", "a: b", "#", "[x]", "{x}", "*x", "&x", "!x", "|", "'"]
KEYS = ["id", "name", "a", "b", "2026", "yes", "~", "x y", "<<", "", "2026-01-01", "a#b"]


def implicit(text: str) -> bool:
    return yaml.resolver.Resolver().resolve(yaml.ScalarNode, text, (True, False)) != (
        "tag:yaml.org,2002:str"
    )


@st.composite
def scalars(draw: st.DrawFn, quote_implicit: bool | None = None) -> str:
    pick = draw(st.integers(0, 39))  # mostly what files hold; sometimes anything
    if pick < 30:
        text = draw(st.sampled_from(SCALARS))
    elif pick < 37:
        text = draw(
            st.integers(-(10**6), 10**6).map(str)
            | st.floats(allow_nan=False, allow_infinity=False).map(repr)
        )
    elif pick < 39:
        text = draw(st.text(alphabet="ab1-: #'\".\n", max_size=6))
    else:
        text = draw(st.sampled_from(BREAKING))
    style = draw(st.sampled_from(["plain", "plain", "single", "double", "literal", "folded"]))
    if quote_implicit is not None and implicit(text):
        # A document that writes each YAML 1.1 value one way: the fast reader can read it.
        style = draw(st.sampled_from(["single", "double"])) if quote_implicit else "plain"
    if style == "single":
        return "'" + text.replace("'", "''") + "'"
    if style == "double":
        return json.dumps(text, ensure_ascii=False)
    if style in ("literal", "folded") and text:
        indicator = "|" if style == "literal" else ">"
        chomp = draw(st.sampled_from(["", "-", "+"]))
        return indicator + chomp + "\n" + "\n".join("  " + line for line in text.split("\n"))
    return text.replace("\n", " ")


@st.composite
def values(draw: st.DrawFn, depth: int = 0, quote_implicit: bool | None = None) -> Any:
    if depth >= 2 or draw(st.booleans()):
        return ("scalar", draw(scalars(quote_implicit)))
    if draw(st.booleans()):
        unique = draw(st.integers(0, 9)) < 9  # a duplicate key now and then
        keys = draw(st.lists(st.sampled_from(KEYS), max_size=4, unique=unique))
        pairs = [(key, draw(values(depth + 1, quote_implicit))) for key in keys]
        return ("map", pairs, draw(st.booleans()))
    items = draw(st.lists(values(depth + 1, quote_implicit), max_size=4))
    return ("seq", items, draw(st.booleans()))


def render(value: Any, indent: int) -> str:
    """Block or flow YAML for a generated value, at `indent` spaces (after a key or dash)."""
    kind = value[0]
    pad = " " * indent
    if kind == "scalar":
        text: str = value[1]
        if text.startswith(("|", ">")):
            head, *lines = text.split("\n")
            return " " + head + "".join("\n" + pad + line for line in lines)
        return " " + text
    if value[2]:  # flow, where block scalars cannot be
        inner = [_flow(v) for v in (v for _, v in value[1])] if kind == "map" else None
        if kind == "map":
            pairs = zip((k for k, _ in value[1]), inner or [], strict=True)
            return " {" + ", ".join(f"{k}:{render(v, indent + 2)}" for k, v in pairs) + "}"
        return " [" + ", ".join(render(_flow(v), indent + 2).strip() for v in value[1]) + "]"
    if not value[1]:
        return " {}" if kind == "map" else " []"
    if kind == "map":
        return "".join(f"\n{pad}{k}:{render(v, indent + 2)}" for k, v in value[1])
    return "".join(f"\n{pad}-{render(v, indent + 2)}" for v in value[1])


def _flow(value: Any) -> Any:
    """A value fit for a flow collection: block scalars written double-quoted instead."""
    if value[0] == "scalar" and value[1].startswith(("|", ">")):
        _header, *lines = value[1].split("\n")
        text = "\n".join(line[2:] for line in lines)
        return ("scalar", json.dumps(text, ensure_ascii=False))
    if value[0] != "scalar":
        return (value[0], value[1], True)
    return value


@st.composite
def documents(draw: st.DrawFn) -> str:
    """A strategy-shaped document: item lists of mappings, and anything else around them."""
    quote_implicit = draw(st.sampled_from([None, True, False]))
    lines = ["organization:"]
    for path in ITEM_LISTS:
        items = []
        for value in draw(st.lists(values(1, quote_implicit), min_size=1, max_size=3)):
            if draw(st.integers(0, 19)) < 19:  # mostly as an item should be: a mapping with an id
                pairs = value[1] if value[0] == "map" else [("name", value)]
                pairs = [(key, item) for key, item in pairs if key != "id"]
                value = ("map", [("id", ("scalar", "a")), *pairs], draw(st.booleans()))
            items.append(value)
        body = render(("seq", items, draw(st.booleans())), len(path) * 2)
        if len(path) == 2:
            lines.append(f"  {path[1]}:{body}")
        else:
            lines.append(f"{path[0]}:{body}")
    extra = draw(values(0, quote_implicit))
    lines.append(f"extra:{render(extra, 2)}")
    text = "\n".join(lines) + "\n"
    if draw(st.booleans()):
        text = text.replace("\n", "  # note\n", 1)
    if draw(st.booleans()):
        text = "\n# a strategy\n\n" + text
    return text


@given(documents())
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example("kpis:\n- id: a\n  by: 2026-01-01\n- {id: b, by: '2026-01-01'}\n")
def test_random_documents_agree(text: str) -> None:
    agree(text)


# ---------------------------------------------------------------- the reader's assumptions


@pytest.mark.parametrize(
    "pattern",
    sorted(
        {
            rx.pattern
            for resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.values()
            for tag, rx in resolvers
            if not tag.endswith(":yaml")  # `!`, `&`, `*`: no constructor, they stay text
        }
    ),
)
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_every_implicit_scalar_is_spelt_in_the_alphabet(pattern: str, data: st.DataObject) -> None:
    # The reader rules out an implicit type for a quoted scalar whose characters are not all
    # in AMBIGUOUS_ALPHABET: that must hold for every text each resolver accepts.
    text = data.draw(st.from_regex(re.compile(pattern, re.X), fullmatch=True))
    assert set(text.rstrip("\n")) <= AMBIGUOUS_ALPHABET


def test_parse_strategy_reports_lines_when_the_fast_reader_read_the_file() -> None:
    # The fast reader reads this file; the problem makes parse_strategy read it again with
    # every line, so that the problem is reported where it is.
    text = (
        "version: 1\norganization:\n  name: X\n  units:\n    - {id: u, name: U, level: company}\n"
        "kpis:\n  - id: k\n    name: K\n    unit: u\n    frequency: monthly\n"
        "    direction: increase\n    target: {value: 1, by: 2026-01-01}\n    colour: red\n"
    )
    assert load_yaml_fast(text) is not None
    with pytest.raises(Exception) as caught:
        parse_strategy(text, "x.yaml")
    assert [str(p) for p in caught.value.problems] == [  # type: ignore[attr-defined]
        "x.yaml:13: kpi k: colour: unknown key 'colour'"
    ]


def test_item_locations_are_those_of_the_slow_reader() -> None:
    text = (EXAMPLES / "techinnovate" / "strategy.yaml").read_text()
    fast = parse_strategy(text, "s.yaml")
    _data, lines, _problems = load_yaml(text)
    for i, kpi in enumerate(fast.kpis):
        assert kpi.location is not None and kpi.location.line == lines.lines[("kpis", i)]


@settings(max_examples=500, deadline=None)
@given(
    number=st.from_regex(r"-?(?:0|[1-9][0-9]{0,12})(?:\.[0-9]{1,8})?", fullmatch=True),
    form=st.sampled_from(["a: {}\n", "- {}\n", "a: [{}, x]\n", "{{a: {}}}\n", "a:\n  - {}\n"]),
)
def test_rapidyaml_writes_plain_numbers_bare(number: str, form: str) -> None:
    # The reader takes a JSON string that looks like such a number for a quoted scalar.
    import ryml

    tree = ryml.parse_in_arena(form.format(number).encode())
    assert f'"{number}"' not in ryml.emit_json(tree)

"""A strategy file is read within a budget of expansion and depth proportional to its size.

Nested aliases ("billion laughs") let a few hundred bytes stand for billions of values. Both
readers (the fast one, which leaves aliases to PyYAML, and `load_yaml`) must refuse such a file
with one clear problem, quickly and in little memory. The memory is checked in a child process
whose address space is capped, so that a regression fails there instead of exhausting the
machine that runs the tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from lineofsight.errors import SpecError
from lineofsight.spec.fastyaml import load_yaml_fast
from lineofsight.spec.files import parse_strategy
from lineofsight.spec.yamlload import MAX_DEPTH, MIN_EXPANSION, expansion_budget, load_yaml

ROOT = Path(__file__).parents[2]
HEAD = "version: 1\norganization:\n  name: Bomb\n  units: [{id: co, name: Co, level: company}]\n"


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """A strategy file whose aliases expand to width ** levels values (9 ** 9: 387 million)."""
    lines = [HEAD, 'l0: &l0 ["lol"' + ',"lol"' * (width - 1) + "]\n"]
    for level in range(1, levels):
        items = ",".join(f"*l{level - 1}" for _ in range(width))
        lines.append(f"l{level}: &l{level} [{items}]\n")
    return "".join(lines)


def text_bomb(length: int = 100_000, uses: int = 8_000) -> str:
    """A strategy file whose one long text, named once and used `uses` times, is 800 MB."""
    return (
        HEAD
        + f"strategy:\n  mission: &m {'x' * length}\n"
        + f"  values: [{','.join(['*m'] * uses)}]\n"
    )


def test_the_bombs_are_small() -> None:
    assert len(alias_bomb().encode()) < 600
    assert len(text_bomb().encode()) < 200_000


def _one_problem(text: str) -> str:
    with pytest.raises(SpecError) as caught:
        parse_strategy(text, "bomb.yaml")
    problems = caught.value.problems
    assert len(problems) == 1, problems
    assert problems[0].file == "bomb.yaml"
    return str(problems[0])


def test_an_alias_bomb_is_one_clear_problem() -> None:
    message = _one_problem(alias_bomb())
    assert f"expands to more than {MIN_EXPANSION:,} YAML nodes and characters" in message
    assert "aliases" in message


@pytest.mark.parametrize(
    "body",
    [
        "x: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n",
        "x: " + "{a: " * (MAX_DEPTH + 5) + "1" + "}" * (MAX_DEPTH + 5) + "\n",
        # An anchor that contains an alias to itself: an endless structure.
        "x: &loop [1, *loop]\n",
    ],
    ids=["lists", "mappings", "self-alias"],
)
def test_nesting_past_the_depth_limit_is_one_clear_problem(body: str) -> None:
    message = _one_problem(HEAD + body)
    assert f"nests deeper than {MAX_DEPTH} levels" in message


def test_a_long_text_repeated_by_aliases_is_one_clear_problem() -> None:
    message = _one_problem(text_bomb())
    assert "bomb.yaml:6: the file expands to more than" in message
    assert "YAML nodes and characters once its aliases (*name) are expanded" in message


@pytest.mark.parametrize("bomb", [alias_bomb, text_bomb], ids=["nested", "long-text"])
def test_both_readers_refuse_or_pass_on_the_bomb(bomb: Callable[[], str]) -> None:
    text = bomb()
    # The fast reader does not follow aliases: it leaves the file to load_yaml.
    assert load_yaml_fast(text) is None
    data, _lines, problems = load_yaml(text)
    assert data is None
    assert [p.line for p in problems] and "expands to more than" in problems[0].message


def test_ordinary_aliases_within_the_budget_still_load() -> None:
    text = (
        HEAD
        + "kpis:\n"
        + "".join(
            f"  - {{id: k{i}, name: K{i}, unit: co, frequency: monthly, direction: increase,"
            f" target: {'&t {value: 5, by: 2027-12-31}' if i == 0 else '*t'}}}\n"
            for i in range(50)
        )
    )
    org = parse_strategy(text, "ok.yaml")
    assert len(org.kpis) == 50
    assert all(k.target is not None and k.target.value == 5 for k in org.kpis)


def test_a_shared_mapping_used_ten_times_still_loads() -> None:
    target = "{value: 5, by: 2027-12-31, note: " + "n" * 2000 + "}"
    text = (
        HEAD
        + "kpis:\n"
        + "".join(
            f"  - {{id: k{i}, name: K{i}, unit: co, frequency: monthly, direction: increase,"
            f" target: {'&t ' + target if i == 0 else '*t'}}}\n"
            for i in range(10)
        )
    )
    data, _lines, problems = load_yaml(text)
    assert problems == []
    assert [k["target"]["value"] for k in data["kpis"]] == [5] * 10


def test_a_text_used_within_the_budget_still_loads() -> None:
    # 400 uses of a 2,000-character text: 800,000 characters, under the floor of the budget.
    data, _lines, problems = load_yaml(text_bomb(length=2_000, uses=400))
    assert problems == []
    assert len(data["strategy"]["values"]) == 400
    # 600 uses go over it.
    _data, _lines, problems = load_yaml(text_bomb(length=2_000, uses=600))
    assert "expands to more than" in problems[0].message


def test_the_budget_grows_with_the_file() -> None:
    assert expansion_budget(10) == MIN_EXPANSION
    assert expansion_budget(10_000_000) > expansion_budget(1_000_000) > MIN_EXPANSION


_CHILD = """
import json, resource, sys, tracemalloc
cap = 1 << 30  # a regression fails with MemoryError here instead of eating the machine
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
from lineofsight.errors import SpecError
from lineofsight.spec.files import parse_strategy
from lineofsight.spec.yamlload import load_yaml
text = sys.stdin.read()
result = {}
for name, read in (("parse_strategy", lambda: parse_strategy(text, "bomb.yaml")),
                   ("load_yaml", lambda: load_yaml(text))):
    tracemalloc.start()
    try:
        answer = read()
        result[name] = repr(answer[2]) if isinstance(answer, tuple) else "parsed"
    except SpecError as exc:
        result[name] = str(exc.problems[0])
    result[name + "_peak"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
print(json.dumps(result))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is reliable on Linux")
@pytest.mark.parametrize(
    "bomb",
    [alias_bomb(levels=12, width=10), text_bomb(uses=40_000)],
    ids=["nested", "long-text"],
)
def test_the_bomb_is_refused_in_bounded_memory(bomb: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_CHILD)],
        input=bomb,
        capture_output=True,
        text=True,
        timeout=600,  # a guard against a hang, not a measure of speed
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert "expands to more than" in result["parse_strategy"]
    assert "expands to more than" in result["load_yaml"]
    # The budget's 100,000 nodes with their lines: tens of megabytes at most.
    assert result["parse_strategy_peak"] < 100 * 1024 * 1024
    assert result["load_yaml_peak"] < 100 * 1024 * 1024

"""The KPI formula language: parse, print, evaluate and differentiate `dio + dso - dpo`.

A formula is numbers, KPI ids, `+ - * /`, unary minus (and plus), parentheses and the calls
`min(...)`, `max(...)` and `abs(...)`. The text is read with Python's own parser
(`ast.parse(..., mode="eval")`) and every node is checked against an allow-list before it is
turned into a small immutable tree; nothing is ever evaluated or compiled by Python.

The language lives in four modules, gathered here: `formula_tree` (nodes, `FormulaError`,
`references`, `substitute`, `written_out`), `formula_parse` (`parse_formula`), `formula_text`
(`to_text`) and `formula_eval` (`evaluate`, `partial_sign`).
"""

from __future__ import annotations

from lineofsight.domain.formula_eval import evaluate, partial_sign
from lineofsight.domain.formula_parse import parse_formula
from lineofsight.domain.formula_text import to_text
from lineofsight.domain.formula_tree import (
    MAX_DEPTH,
    BinaryOperator,
    BinOp,
    Call,
    Expr,
    FormulaError,
    FunctionName,
    Neg,
    Number,
    Ref,
    references,
    substitute,
    written_out,
)

__all__ = [
    "MAX_DEPTH",
    "BinOp",
    "BinaryOperator",
    "Call",
    "Expr",
    "FormulaError",
    "FunctionName",
    "Neg",
    "Number",
    "Ref",
    "evaluate",
    "parse_formula",
    "partial_sign",
    "references",
    "substitute",
    "to_text",
    "written_out",
]

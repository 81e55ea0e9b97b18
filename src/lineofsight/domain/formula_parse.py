"""Parsing a formula's text into its tree (`parse_formula`), with an error naming the column.

The text is read with Python's own parser (`ast.parse(..., mode="eval")`) and every node is
checked against an allow-list before it is turned into the formula tree; nothing is ever
evaluated or compiled by Python.
"""

from __future__ import annotations

import ast
import functools
import keyword
import math
import re

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
)

_KPI_ID = re.compile(r"[a-z][a-z0-9_]*", re.ASCII)

_ALLOWED = "use numbers, KPI ids, + - * /, parentheses, min, max and abs"

_BINARY: dict[type[ast.operator], BinaryOperator] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
}

_FUNCTIONS: dict[str, FunctionName] = {"min": "min", "max": "max", "abs": "abs"}

_OPERATOR_TEXT: dict[type[ast.AST], str] = {
    ast.Pow: "**",
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Is: "is",
    ast.IsNot: "is",
    ast.In: "in",
    ast.NotIn: "not",
    ast.And: "and",
    ast.Or: "or",
}

_WHAT: dict[type[ast.AST], str] = {
    ast.Attribute: "attributes ('.')",
    ast.Subscript: "indexing ('[...]')",
    ast.List: "lists",
    ast.Tuple: "lists of values",
    ast.Set: "sets",
    ast.Dict: "dictionaries",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Lambda: "lambda",
    ast.NamedExpr: "':='",
    ast.JoinedStr: "text in quotes",
    ast.Await: "'await'",
    ast.Yield: "'yield'",
    ast.YieldFrom: "'yield'",
    ast.Starred: "'*' unpacking",
}

# Line breaks and tabs become spaces, one character for one: a formula written over several
# YAML lines still parses, and every column counts characters from the start of the text.
_FLATTEN = str.maketrans({"\n": " ", "\r": " ", "\t": " ", "\f": " ", "\v": " "})


_OPERATOR_CHARS = "*/<>=!&|^%@~+-"


def _quote(token: str) -> str:
    return f'"{token}"' if "'" in token else f"'{token}'"


def _token_at(text: str, index: int, whole_word: bool = False) -> str:
    """The word, number or operator that starts at `index` in `text`.

    With `whole_word`, a word or number is taken from its own start, for errors that Python
    reports in the middle of a bad literal (`1__0`).
    """
    if index >= len(text):
        return ""

    def is_word(ch: str) -> bool:
        return ch.isalnum() or ch in "_."

    if is_word(text[index]):
        start = index
        while whole_word and start > 0 and is_word(text[start - 1]):
            start -= 1
        end = index
        while end < len(text) and is_word(text[end]):
            end += 1
        return text[start:end]
    end = index + 1
    if text[index] in _OPERATOR_CHARS:
        while end < len(text) and text[end] in _OPERATOR_CHARS:
            end += 1
    return text[index:end]


def _syntax_error(exc: SyntaxError, flat: str, lead: int) -> FormulaError:
    """A user-worded error for what Python's parser rejected."""
    body = flat[lead:]
    message = exc.msg
    offset = exc.offset or 0
    # Python reports a premature end of input with no offset, or one past the last character.
    if offset <= 0 or offset > len(body) or not body[offset - 1 :].strip():
        if "was never closed" in message:
            return FormulaError(f"syntax error: {message}", lead + max(offset, 1))
        return FormulaError("syntax error: unexpected end of formula", len(flat.rstrip()) + 1)
    column = lead + offset
    token = _token_at(flat, column - 1)
    if "was never closed" in message or "unmatched" in message or "does not match" in message:
        return FormulaError(f"syntax error: {message}", column)
    if "forgot a comma" in message:
        end = exc.end_offset if exc.end_offset and exc.end_offset > offset else offset + 1
        segment = body[offset - 1 : end - 1].strip()
        return FormulaError(
            f"syntax error: missing an operator or ',' in {_quote(segment)}", column
        )
    word = _token_at(flat, column - 1, whole_word=True)
    if "literal" in message and word[:1].isdigit():
        return FormulaError(f"syntax error: {_quote(word)} is not a number", column)
    if "nested parentheses" in message:
        return FormulaError(f"the formula is nested too deeply (more than {MAX_DEPTH} levels)")
    return FormulaError(f"syntax error: unexpected {_quote(token)}", column)


class _Converter:
    """Checks Python's tree against the allow-list and builds the formula tree from it."""

    def __init__(self, flat: str, lead: int) -> None:
        self._lead = lead
        # ast offsets count UTF-8 bytes, our columns count characters.
        self._body = flat[lead:].encode("utf-8")

    def column(self, byte_offset: int) -> int:
        return self._lead + len(self._body[:byte_offset].decode("utf-8", errors="ignore")) + 1

    def at(self, node: ast.AST) -> int:
        return self.column(getattr(node, "col_offset", 0))

    def segment(self, node: ast.AST, limit: int = 40) -> str:
        start = getattr(node, "col_offset", 0)
        end = getattr(node, "end_col_offset", None) or len(self._body)
        text = self._body[start:end].decode("utf-8", errors="replace")
        return text if len(text) <= limit else text[: limit - 3] + "..."

    def between(self, before: ast.expr, after: ast.expr, token: str) -> int:
        """The column of `token` between two nodes, e.g. the operator of `(a) % b`."""
        return self.find(token, before.end_col_offset, after.col_offset)

    def find(self, token: str, start: int | None, end: int | None) -> int:
        """The column of `token` within a byte range of the text, else the range's start."""
        first = start or 0
        last = len(self._body) if end is None else max(end, first)
        found = self._body.find(token.encode("utf-8"), first, last)
        return self.column(found if found >= 0 else first)

    def convert(self, node: ast.expr, depth: int = 0) -> Expr:
        if depth > MAX_DEPTH:
            raise FormulaError(
                f"the formula is nested too deeply (more than {MAX_DEPTH} levels)", self.at(node)
            )
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return Ref(self.kpi_id(node))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return Neg(self.convert(node.operand, depth + 1))
            if isinstance(node.op, ast.UAdd):
                # Unary plus changes nothing, so it leaves no trace in the tree.
                return self.convert(node.operand, depth + 1)
            symbol = "not" if isinstance(node.op, ast.Not) else "~"
            raise FormulaError(f"{_quote(symbol)} is not allowed (use + - * /)", self.at(node))
        if isinstance(node, ast.BinOp):
            op = _BINARY.get(type(node.op))
            if op is None:
                symbol = _OPERATOR_TEXT.get(type(node.op), "?")
                column = self.between(node.left, node.right, symbol)
                raise FormulaError(f"{_quote(symbol)} is not allowed (use + - * /)", column)
            left = self.convert(node.left, depth + 1)
            return BinOp(op, left, self.convert(node.right, depth + 1))
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        if isinstance(node, ast.Compare):
            symbol = _OPERATOR_TEXT.get(type(node.ops[0]), "?")
            column = self.between(node.left, node.comparators[0], symbol)
            raise FormulaError(
                f"{_quote(symbol)} is not allowed: a formula has no comparisons", column
            )
        if isinstance(node, ast.BoolOp):
            symbol = _OPERATOR_TEXT.get(type(node.op), "?")
            column = self.between(node.values[0], node.values[1], symbol)
            raise FormulaError(f"{_quote(symbol)} is not allowed: a formula has no logic", column)
        if isinstance(node, ast.IfExp):
            column = self.between(node.body, node.test, "if")
            raise FormulaError("'if ... else' is not allowed: a formula has no logic", column)
        if isinstance(node, ast.Tuple) and node.elts:
            column = self.find(",", node.elts[0].end_col_offset, node.end_col_offset)
            raise FormulaError(
                "',' is only allowed between the arguments of min(...) or max(...)", column
            )
        what = _WHAT.get(type(node))
        reason = f": a formula has no {what}" if what else ""
        raise FormulaError(
            f"{_quote(self.segment(node))} is not allowed{reason} ({_ALLOWED})", self.at(node)
        )

    def constant(self, node: ast.Constant) -> Number:
        value = node.value
        column = self.at(node)
        text = self.segment(node)
        if isinstance(value, bool):
            raise FormulaError(f"{_quote(text)} is not allowed: a formula has no booleans", column)
        if value is None or value is Ellipsis:
            raise FormulaError(f"{_quote(text)} is not allowed ({_ALLOWED})", column)
        if isinstance(value, str | bytes):
            raise FormulaError(f"text in quotes is not allowed ({_ALLOWED})", column)
        if isinstance(value, complex):
            raise FormulaError(
                f"{_quote(text)} is not allowed: a formula has no complex numbers", column
            )
        if not isinstance(value, int | float):
            raise FormulaError(f"{_quote(text)} is not allowed ({_ALLOWED})", column)
        if text[:2].lower() in ("0x", "0o", "0b"):
            raise FormulaError(f"{_quote(text)} is not allowed: write numbers in decimal", column)
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise FormulaError(f"{_quote(text)} is too large a number", column)
        return Number(number)

    def kpi_id(self, node: ast.Name) -> str:
        # The id is the text as typed: Python folds look-alike letters (NFKC) into names, and a
        # masked keyword (see `parse_formula`) has a placeholder name in Python's tree.
        typed = self.segment(node, limit=len(self._body) + 1)
        if _KPI_ID.fullmatch(typed):
            return typed
        if _KPI_ID.fullmatch(typed.lower()):
            raise FormulaError(
                f"{_quote(typed)} is not a KPI id: ids are lower case", self.at(node)
            )
        raise FormulaError(
            f"{_quote(typed)} is not a KPI id: ids start with a lower-case letter and use only "
            "a-z, 0-9 and _",
            self.at(node),
        )

    def call(self, node: ast.Call, depth: int) -> Call:
        func = node.func
        column = self.at(node)
        name = self.segment(func)
        func_name = _FUNCTIONS.get(name) if isinstance(func, ast.Name) else None
        if func_name is None:
            raise FormulaError(
                f"{_quote(name)} is not an allowed function (use min, max or abs)", column
            )
        if node.keywords:
            keyword = node.keywords[0]
            raise FormulaError(f"{name}() takes no keyword arguments", self.at(keyword))
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise FormulaError(f"'*' is not allowed in {name}()", self.at(arg))
        if func_name == "abs" and len(node.args) != 1:
            raise FormulaError(f"abs() takes exactly one argument, not {len(node.args)}", column)
        if not node.args:
            raise FormulaError(f"{name}() needs at least one argument", column)
        args = tuple(self.convert(arg, depth + 1) for arg in node.args)
        return Call(func_name, args)


# A whole numeric literal (atomic, so `1e5` is never read as `1` before `e5`) directly
# followed by a letter or underscore.
_GLUED_NUMBER = re.compile(
    r"(?<![\w.])(?>0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+"
    r"|(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9][0-9_]*)?[jJ]?)"
    r"(?=[^\W0-9])"
)

_KEYWORDS = "|".join(word for word in keyword.kwlist if word.islower())
_KEYWORD = re.compile(rf"(?<!\w)(?:{_KEYWORDS})(?!\w)")


def _python_tree(body: str) -> ast.Expression:
    """Python's tree of the text; raises SyntaxError, or FormulaError when nested too deeply."""
    try:
        return ast.parse(body, mode="eval")
    except (RecursionError, MemoryError):
        raise FormulaError(
            f"the formula is nested too deeply (more than {MAX_DEPTH} levels)"
        ) from None


def parse_formula(text: str) -> Expr:
    """The formula tree of a formula's text; raises `FormulaError` for anything not allowed."""
    if not isinstance(text, str):
        # Typed callers never get here; a YAML number given as a formula does.
        raise FormulaError(f"a formula must be text, not {type(text).__name__}")
    return _parse_text(text)


# The most common formula, KPI ids joined by + and - (`a + b - c`), spaces around: its tree
# is built straight from the text (thousands of formulas are read for a scorecard), the tree
# Python's reading below gives it (left to right; keywords are ids there too).
SUM_OF_IDS = r" *[a-z][a-z0-9_]*(?: *[-+] *[a-z][a-z0-9_]*){0,15} *"
_SUM_OF_IDS = re.compile(SUM_OF_IDS, re.ASCII)
_SUM_TERM = re.compile(r"([-+]?) *([a-z][a-z0-9_]*)", re.ASCII)


def _sum_of_ids(text: str) -> Expr | None:
    """The tree of a formula of `_SUM_OF_IDS`'s shape; None for any other formula."""
    if _SUM_OF_IDS.fullmatch(text) is None:
        return None
    terms = _SUM_TERM.findall(text)
    tree: Expr = Ref(terms[0][1])
    for op, kpi_id in terms[1:]:
        tree = BinOp("+" if op == "+" else "-", tree, Ref(kpi_id))
    return tree


@functools.lru_cache(maxsize=65536)  # parsed trees are immutable: share them
def _parse_text(text: str) -> Expr:
    quick = _sum_of_ids(text)
    return quick if quick is not None else _read_text(text)


def _read_text(text: str) -> Expr:
    """The tree of a formula's text through Python's parser, checked against the allow-list."""
    flat = text.translate(_FLATTEN)
    if not flat.strip():
        raise FormulaError("the formula is empty")
    # Python would accept these or word them obscurely; we name the character.
    for index, char in enumerate(flat):
        if char == "#":
            raise FormulaError("'#' is not allowed: a formula has no comments", index + 1)
        if char == "\\":
            raise FormulaError("syntax error: unexpected '\\'", index + 1)
        if not char.isprintable():
            raise FormulaError(
                f"syntax error: unexpected invisible character U+{ord(char):04X}", index + 1
            )
    # Python only warns (SyntaxWarning on stderr) about a number run into a keyword, `1if`,
    # and whether that is an error depends on the warning filters; decide it here instead.
    if glued := _GLUED_NUMBER.search(flat):
        end = glued.end()
        while end < len(flat) and (flat[end].isalnum() or flat[end] == "_"):
            end += 1
        number = flat[glued.start() : end]
        raise FormulaError(f"syntax error: {_quote(number)} is not a number", glued.start() + 1)
    # Python refuses leading spaces as an indent; skip them but keep counting columns.
    lead = len(flat) - len(flat.lstrip(" "))
    body = flat[lead:]
    # The formula language has no keywords, and a KPI may well be called `yield` or `in`.
    # Python's parser reads the text with every keyword masked by a placeholder name of the
    # same length (so columns stay put); the converter takes ids from the original text.
    masked = _KEYWORD.sub(lambda match: "K" * len(match.group()), body)
    try:
        tree = _python_tree(masked)
    except SyntaxError as exc:
        if masked == body:
            raise _syntax_error(exc, flat, lead) from None
        # Keywords used as Python syntax (`a and b`, `not a`) parse unmasked and then get a
        # message naming them; anything else keeps the error of the masked reading.
        try:
            tree = _python_tree(body)
        except SyntaxError:
            raise _syntax_error(exc, flat, lead) from None
    return _Converter(flat, lead).convert(tree.body)

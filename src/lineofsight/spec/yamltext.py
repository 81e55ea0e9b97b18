"""What a scan of a YAML text tells before it is parsed, for the fast reader (`fastyaml`).

- `plain_text`: whether the text avoids what this project's fast path leaves to PyYAML
  (control characters, tabs, unusual line breaks, directives, several documents...);
- `quoted_values`: a superset of the values written quoted or as block scalars, so that the
  fast reader knows which strings may not be read as YAML 1.1 plain scalars (`yes`, dates).

Both raise or answer conservatively: a wrong "no" only sends a file down the slow path.
"""

from __future__ import annotations

import bisect
import re


class Unsure(Exception):
    """The fast reader cannot promise PyYAML's result for this document."""


# PyYAML's reader rejects control characters; it also counts NEL, LS and PS (and CR) as line
# breaks, and PyYAML and rapidyaml disagree on where tabs may stand: none of these, nor a byte
# order mark, on the fast path.
_NOT_PLAIN_TEXT = re.compile(
    "[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_PLAIN_ASCII = bytes([10, *range(0x20, 0x7F)])


def plain_text(text: str, source: bytes) -> bool:
    if not text:
        return False
    if source.isascii():
        if source.translate(None, _PLAIN_ASCII):
            return False
    elif _NOT_PLAIN_TEXT.search(text) is not None:
        return False
    # Directives and document markers (`%YAML`, `---`, `...`) stay with PyYAML; so does a
    # colon right before a flow indicator (`[a:]`), which PyYAML rejects and rapidyaml reads.
    markers = ("---", "...", "%")
    return (
        not text.startswith(markers)
        and not any("\n" + m in text for m in markers)
        and not any(pair in text for pair in (":]", ":}", ":,"))
    )


# A token starts where the previous character on its line, spaces aside, is an indicator (`-`,
# `:`, `?`, `[`, `{`, `,`) or where nothing precedes it. Quoted and block scalars, anchors,
# aliases and tags all start at such a place. Plain text seldom has the characters looked for
# here at such a place, and when it does the scan is only more careful than it needs to be.
#
# Each pattern starts with a literal: Python's `re` scans for a literal far faster than for a
# character class, which matters on 60 MB.
_QUOTES = (re.compile('"'), re.compile("'"))
# Characters whose meaning at a token start PyYAML and rapidyaml do not share, or which this
# reader leaves to PyYAML: properties (`&`, `*`, `!`), reserved characters, explicit keys,
# block scalars (looked at more closely), and a closing bracket or a colon that starts text.
# Each comes with a character to look for first: a text without it needs no scan.
_RARE = (
    *((char, re.compile(re.escape(char))) for char in "|>&*!%@`?"),
    ("]", re.compile(r"\](?=[^\s,\]}#])")),
    ("}", re.compile(r"\}(?=[^\s,\]}#])")),
    (":", re.compile(r":(?<=[ \[{,\n]:)")),
)
_BLOCK_HEADER = re.compile(r"[|>]([1-9]?[-+]?|[-+][1-9]?) *(?:#.*)?$")
_INDICATORS_ONLY = re.compile(r"[ ?:-]*")
_ESCAPE = re.compile(r"\\.", re.DOTALL)
_SPACE = re.compile(r"[ \n]+")
# Every character that any of PyYAML's implicit types (bool, int, float, null, timestamp, merge,
# value) can contain; tests/spec check this against the resolver's patterns.
AMBIGUOUS_ALPHABET = frozenset("0123456789+-._:~<= \tabcdefABCDEFilnorstuxyILNORSTUXYZ")


def quoted_values(text: str) -> frozenset[str]:
    """Every value written quoted or as a block scalar that PyYAML could read otherwise.

    A superset: false starts (a quote inside plain text) only add values. Raises Unsure for
    what the scan does not follow (anchors, tags, explicit keys, escapes or folded lines that
    could spell a number, a date or a boolean).
    """
    text = "\n" + text  # the first line starts after a line break, like the others
    found: set[str] = set()
    spans: list[int] = []  # start and end of each quoted scalar, in order
    end = 0
    quotes = sorted(match.start() for pattern in _QUOTES for match in pattern.finditer(text))
    for start in quotes:
        if start <= end or not _token_start(text, start):
            continue  # inside the last quoted scalar, or inside plain text
        value, end = _quoted_scalar(text, start)
        found.add(value)
        spans += (start, end)
    for char, pattern in _RARE:
        if text.find(char) < 0:
            continue
        for match in pattern.finditer(text):
            start = match.start()
            if bisect.bisect(spans, start) % 2 or not _token_start(text, start):
                continue  # inside a quoted scalar, or inside plain text
            if text[start] in "|>":
                found.update(_block_scalar(text, start))
                _no_quote_inside(text, start, spans)
            else:
                raise Unsure
    return frozenset(found)


def _no_quote_inside(text: str, header: int, spans: list[int]) -> None:
    """Raise Unsure if a quoted scalar seemed to start inside this block scalar's lines.

    Quotes are looked for before block scalars, so a quote at the start of a block scalar's
    line was taken for a quoted scalar running on to the next quote, hiding what was really
    quoted after it. The first block scalar holding such a quote is always found here: only a
    quote inside an earlier block scalar could hide its header.
    """
    line_end = text.find("\n", header)
    if line_end < 0:
        return
    first = bisect.bisect_right(spans, line_end)
    if first % 2:
        first += 1  # past the end of a span that holds the header's line end
    if first < len(spans) and spans[first] < _block_end(text, header, line_end):
        raise Unsure


def _block_end(text: str, header: int, line_end: int) -> int:
    """Where the lines of a block scalar end: at the first line indented no more than the
    header's line (a superset of the scalar's own lines)."""
    line_start = text.rfind("\n", 0, header) + 1
    header_line = text[line_start:line_end]
    indent = len(header_line) - len(header_line.lstrip(" "))
    position = line_end + 1
    while position < len(text):
        next_end = text.find("\n", position)
        next_end = len(text) if next_end < 0 else next_end
        line = text[position:next_end]
        if line.strip(" ") and len(line) - len(line.lstrip(" ")) <= indent:
            return position
        position = next_end + 1
    return len(text)


def _token_start(text: str, position: int) -> bool:
    """Whether a token may start at `position`, outside comments (see above)."""
    before = position - 1
    while text[before] == " ":
        before -= 1
    char = text[before]
    if char not in "-:?[{,\n":
        return False
    line_start = text.rfind("\n", 0, position) + 1
    if char == "-" and (
        before == position - 1 or not _INDICATORS_ONLY.fullmatch(text, line_start, before)
    ):
        return False  # not a block entry's dash (a space after it, indicators before): `a -> b`
    return not _in_comment(text, line_start, position)


def _in_comment(text: str, line_start: int, position: int) -> bool:
    """Whether `position` is surely inside a comment: after a ` #` with no quote before it."""
    hash_at = text.find("#", line_start, position)
    while hash_at >= 0:
        if hash_at == line_start or text[hash_at - 1] == " ":
            before = text[line_start:hash_at]
            return "'" not in before and '"' not in before
        hash_at = text.find("#", hash_at + 1, position)
    return False


def _quoted_scalar(text: str, start: int) -> tuple[str, int]:
    """The value (or a stand-in that cannot be an implicit type) and the closing quote's index."""
    quote = text[start]
    end = start + 1
    while True:
        end = text.find(quote, end)
        if end < 0:
            raise Unsure
        if quote == "'":
            if text.startswith("''", end):
                end += 2
                continue
        else:
            backslashes = 0
            while text[end - 1 - backslashes] == "\\":
                backslashes += 1
            if backslashes % 2:
                end += 1
                continue
        break
    raw = text[start + 1 : end]
    if quote == '"' and "\\" in raw:
        # Escapes can spell anything; what is left besides them must rule out an implicit type.
        if _may_be_implicit(_ESCAPE.sub("", raw)):
            raise Unsure
        return raw, end
    if "\n" in raw:
        # Folded over several lines: only the characters besides white space can tell.
        if _may_be_implicit(raw):
            raise Unsure
        return raw, end
    return (raw.replace("''", "'") if quote == "'" else raw), end


def _block_scalar(text: str, start: int) -> set[str]:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    line_end = len(text) if line_end < 0 else line_end
    header = _BLOCK_HEADER.match(text, start, line_end)
    if header is None:
        raise Unsure  # `key: > x`: PyYAML rejects what rapidyaml might read
    # With the default or `+` chomping, the value ends in a line break (or is empty): never an
    # implicit type. With `-`, it may be a single line: keep every line that may belong to it
    # (those indented more than the header's line, a superset of the scalar's own).
    values = {""}
    if "-" not in header.group(1):
        return values
    header_line = text[line_start:line_end]
    indent = len(header_line) - len(header_line.lstrip(" "))
    position = line_end + 1
    content_lines = 0
    while position < len(text):
        next_end = text.find("\n", position)
        next_end = len(text) if next_end < 0 else next_end
        line = text[position:next_end]
        stripped = line.strip(" ")
        if stripped and len(line) - len(line.lstrip(" ")) <= indent:
            break
        if stripped:
            content_lines += 1
            values.add(stripped)
        position = next_end + 1
    folded = text[start] == ">"
    if folded and content_lines > 1 and _may_be_implicit(text[line_end:position]):
        raise Unsure
    return values


def _may_be_implicit(raw: str) -> bool:
    return set(_SPACE.sub("", raw)) <= AMBIGUOUS_ALPHABET

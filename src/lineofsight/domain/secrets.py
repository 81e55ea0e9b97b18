"""Secret references: the `env:NAME` syntax and reading its value, shared by sources and
notifications.

A secret is never written in the strategy file or the store: a setting holds `env:NAME`, the
environment variable that holds the value. This module is the one place that says what a
well-formed reference is and how its value is read; callers pass the environment explicitly
(`os.environ` at run time) so that the domain stays free of I/O, and turn `SecretUnavailable`
into their own error for the user.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

PREFIX = "env:"
# An environment variable's name as shells accept it: ASCII letters, digits and _, no leading digit.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
NAME_RULE = "env: names an environment variable: letters, digits and _, e.g. env:WAREHOUSE_URL"


def is_reference(text: str) -> bool:
    """Whether `text` is meant as a reference (starts with `env:`), well-formed or not."""
    return text.startswith(PREFIX)


def env_name(text: str) -> str | None:
    """NAME of a well-formed `env:NAME` reference, or None when `text` is not one."""
    if not is_reference(text):
        return None
    name = text[len(PREFIX) :]
    return name if _NAME.fullmatch(name) else None


class SecretUnavailable(ValueError):
    """A reference whose value cannot be read; `str()` is the reason and never holds a value.

    `name` is the variable (None when the text is not a well-formed reference)."""

    def __init__(self, reason: str, name: str | None) -> None:
        super().__init__(reason)
        self.name = name


def read_secret(reference: str, environ: Mapping[str, str]) -> str:
    """The value `environ` holds for the `env:NAME` `reference`.

    SecretUnavailable when `reference` is not a well-formed reference, or the variable is not
    set or empty (an empty password or URL is never meant).
    """
    name = env_name(reference)
    if name is None:
        raise SecretUnavailable(
            NAME_RULE if is_reference(reference) else "not an env:NAME reference", None
        )
    value = environ.get(name)
    if not value:
        raise SecretUnavailable(f"the environment variable {name} is not set", name)
    return value


# A URL's parameter holds a secret when its name says so: a password (sslpassword), a token
# (access_token, motherduck_token), a secret, or a name ending in key (api_key, apikey,
# access_key); not the drivers' paths of a key file (libpq's sslkey, MySQL's ssl_key), nor a
# name that only begins with key (keyspace).
_SECRET_NAME = re.compile(r"password|passwd|pwd|token|secret|key$", re.IGNORECASE)
_KEY_FILES = frozenset({"sslkey", "ssl_key"})
# Parameters whose value is a connection string of its own, `NAME=value;...` (pyodbc's).
_CONNECTION_STRINGS = frozenset({"odbc_connect"})


def secret_parameters(url: str) -> list[tuple[str, str]]:
    """(name, value) of each parameter of `url` that holds a secret, by its name (URL-decoded,
    any case; see `_SECRET_NAME`), and of each such `NAME=value` pair inside a connection
    string given as a parameter (`odbc_connect=...PWD%3D...`: named `odbc_connect PWD`).

    The parameters are those after the URL's first `?` or `;` (Spark Connect writes
    `sc://host:15002/;token=...`), separated by `&` or `;`. A value is given both decoded and
    as written, for taking it out of messages; a caller that names the parameter must never
    show it."""
    from urllib.parse import unquote_plus

    start = min((i for i in (url.find("?"), url.find(";")) if i >= 0), default=-1)
    if start < 0:
        return []
    found: list[tuple[str, str]] = []
    for part in re.split(r"[?&;]", url[start + 1 :]):
        raw_name, equals, raw_value = part.partition("=")
        if not equals:
            continue
        name, value = unquote_plus(raw_name).strip(), unquote_plus(raw_value)
        if _SECRET_NAME.search(name) and name.lower() not in _KEY_FILES:
            found.extend([(name, value), (name, raw_value)])
        elif name.lower() in _CONNECTION_STRINGS:
            for pair in value.split(";"):
                inner, equals, inner_value = pair.partition("=")
                if equals and _SECRET_NAME.search(inner):
                    found.extend([(f"{name} {inner.strip()}", inner_value), (name, raw_value)])
    return found

"""Secrets of data sources: `env:NAME` read from the environment when a source runs, and kept
out of every message.

The strategy file and the store hold only the reference text `env:NAME`; `resolve` reads the
value at the moment a source connects, and `scrub` takes the values (and any password in a URL)
out of a driver's message before anyone sees it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

from lineofsight.domain.secrets import (
    SecretUnavailable,
    env_name,
    is_reference,
    read_secret,
    secret_parameters,
)
from lineofsight.errors import SourceError

_PASSWORD = re.compile(r"(://[^/@:?#]*:)([^/@?#]*)(@)")
SHORTEST_SECRET = 4  # shorter values are too common in text to take out of it


def resolve(text: str, environ: Mapping[str, str] | None = None) -> str:
    """The value of `text`: the variable's value for `env:NAME`, else `text` itself.

    SourceError (kind `secret`) naming the variable when it is not set or empty.
    """
    if not is_reference(text):
        return text
    try:
        return read_secret(text, os.environ if environ is None else environ)
    except SecretUnavailable as missing:
        if missing.name is None:
            raise SourceError("secret", str(missing)) from None
        raise SourceError("secret", f"environment variable {missing.name} is not set") from None


def secret_values(
    settings: Mapping[str, object], environ: Mapping[str, str] | None = None
) -> list[str]:
    """Every value of `settings` that must never be shown: those read from the environment,
    and a password written in a URL (before its host, or in a parameter that holds one)."""
    found: list[str] = []
    env = os.environ if environ is None else environ
    for value in settings.values():
        if not isinstance(value, str):
            continue
        name = env_name(value)
        resolved = env.get(name, "") if name is not None else value
        if name is not None and resolved:
            found.append(resolved)
        found.extend(match.group(2) for match in _PASSWORD.finditer(resolved) if match.group(2))
        found.extend(secret for _name, secret in secret_parameters(resolved) if secret)
    return found


def scrub(message: str, secrets: Iterable[str]) -> str:
    """`message` on one line, with each secret and any URL's password replaced by `***`."""
    text = " ".join(message.split())
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= SHORTEST_SECRET:
            text = text.replace(secret, "***")
    return _PASSWORD.sub(r"\1***\3", text)

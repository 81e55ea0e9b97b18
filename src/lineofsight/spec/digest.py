"""The digest of a strategy file's bytes: what the store keeps of the file it applied, to know
later whether the file is still what was applied (its items still at the lines kept).

A module of its own: `los check` compares the file with it without loading the schema."""

from __future__ import annotations

import hashlib
from pathlib import Path


def bytes_digest(data: bytes) -> str:
    """The SHA-256 of a strategy file's bytes, as hex."""
    return hashlib.sha256(data).hexdigest()


def file_digest(path: Path) -> str | None:
    """`bytes_digest` of the file as it is now; None when it cannot be read."""
    try:
        return bytes_digest(path.read_bytes())
    except OSError:
        return None

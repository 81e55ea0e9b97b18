"""The status JSON of a scorecard computed in full is written out while its rows are still
being joined: the pieces come in order, whole, and the thread that makes them never outlives
the writing (a reader that stops early, a failure while making a piece)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineofsight.cli.scorecard import _ahead
from lineofsight.services import snapshot_card


def _makers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "los-status-pieces"]


def test_the_pieces_come_in_order_then_the_last() -> None:
    pieces = [f"piece {i};".encode() for i in range(50)]
    assert list(_ahead(iter(pieces), b"\n")) == [*pieces, b"\n"]
    assert not _makers()


def test_a_failure_while_making_a_piece_is_raised_where_they_are_written() -> None:
    def failing() -> Iterator[bytes]:
        yield b"first"
        raise ValueError("no second piece")

    written = []
    with pytest.raises(ValueError, match="no second piece"):
        for piece in _ahead(failing(), b"\n"):
            written.append(piece)
    assert written == [b"first"]
    assert not _makers()


def test_a_writing_stopped_early_stops_the_thread_that_makes_the_pieces() -> None:
    made = []

    def endless() -> Iterator[bytes]:
        while True:
            made.append(1)
            yield b"x" * 1000

    stream = _ahead(endless(), b"\n")
    assert next(stream) == b"x" * 1000
    stream.close()  # as `los status` does when its output could not be written whole
    assert not _makers()
    count = len(made)
    assert count < 10  # a few made ahead, not more: the thread has ended
    assert len(made) == count


@pytest.mark.parametrize("seed", range(20))
def test_rows_joined_a_piece_at_a_time_are_the_rows_joined_at_once(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    monkeypatch.setattr(snapshot_card, "_JOIN_PIECE", rng.choice([1, 5, 17, 64, 10_000]))
    rows = [
        json.dumps({"id": f"k{i}", "name": "é,{}\n" * rng.randrange(4)}, ensure_ascii=False)
        for i in range(rng.randrange(0, 40))
    ]
    text = "".join(row + "\n" for row in rows).encode()
    pieces = list(snapshot_card._joining_lines(text))
    assert b"".join(pieces) == ",".join(rows).encode()
    # Whole rows in each piece: every piece but the last ends with the comma after a row.
    assert all(piece.endswith(b"},") for piece in pieces[:-1])
    assert all(piece for piece in pieces)


@pytest.mark.parametrize("failure", [MemoryError("no memory"), OSError(5, "a read failed")])
def test_output_whose_making_fails_leaves_no_file_and_blames_the_making(
    tmp_path: Path, failure: BaseException
) -> None:
    # A failure while the pieces are made (not while the file is written) leaves neither the
    # output nor its temporary file, and is not said as "cannot write PATH".
    from lineofsight.cli.common import write_output

    def pieces() -> Iterator[bytes]:
        yield b"[{"
        raise failure

    target = tmp_path / "out" / "status.json"
    with pytest.raises(type(failure)) as raised:
        write_output(pieces(), target)
    assert raised.value is failure
    assert list(target.parent.iterdir()) == []
    write_output(iter([b"[", b"]"]), target)
    assert target.read_bytes() == b"[]" and sorted(p.name for p in target.parent.iterdir()) == [
        "status.json"
    ]


@pytest.mark.skipif(sys.platform != "linux", reason="pipes of a settable size are Linux's")
@pytest.mark.parametrize(
    ("size", "pieces", "widened"),
    [(2 << 20, "iter([{x}, b'y'])", True), (1000, "[{x}, b'y']", False)],
    ids=["streamed", "small"],
)
def test_large_output_widens_the_pipe_it_is_written_to(
    size: int, pieces: str, widened: bool
) -> None:
    """Output of more than a megabyte (or streamed: of a size not known) written to a pipe
    passes through a pipe of 1 MiB (far fewer turns between writer and reader); a small one
    leaves the pipe as it is. Every byte arrives either way."""
    import fcntl

    made = pieces.format(x=f"b'x' * {size}")
    script = f"from lineofsight.cli.common import write_output\nwrite_output({made}, None)\n"
    read, write = os.pipe()
    try:
        default = fcntl.fcntl(read, fcntl.F_GETPIPE_SZ)
        child = subprocess.Popen([sys.executable, "-c", script], stdout=write)
        os.close(write)
        write = -1
        received = bytearray()
        while chunk := os.read(read, 1 << 20):
            received += chunk
        assert child.wait(timeout=60) == 0
        assert bytes(received) == b"x" * size + b"y"
        after = fcntl.fcntl(read, fcntl.F_GETPIPE_SZ)
        assert (after >= 1 << 20) if widened else (after == default)
    finally:
        os.close(read)
        if write >= 0:
            os.close(write)

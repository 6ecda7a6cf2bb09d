"""A binary stream that can be read again from its first byte: stdin, when a run starts over.

Standard input, or a named pipe, cannot be rewound or opened twice, so :class:`Replayable` keeps
the bytes it has handed out until :meth:`Replayable.forget` says they are no longer needed (the
claim pipeline calls it once its first result has gone out; until then it may start again,
buffered, on an unsorted export).
"""

from __future__ import annotations

import io
from typing import IO


class Replayable:
    """Streams over one underlying binary stream: each :meth:`stream` starts at its first byte
    while the bytes read so far are kept; after :meth:`forget`, at the first unread byte."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._kept = bytearray()
        self._keeping = True

    def stream(self) -> io.BufferedReader:
        """A new buffered stream from the first byte (the bytes kept, then the rest)."""
        return io.BufferedReader(_Reader(self, bytes(self._kept) if self._keeping else b""))

    def close(self) -> None:
        """Close the underlying stream (one this program opened, such as a named pipe)."""
        self.forget()
        self._raw.close()

    def forget(self) -> None:
        """Stop keeping what is read: the caller will not start again."""
        self._keeping = False
        self._kept = bytearray()

    def _read(self, size: int) -> bytes:
        read1 = getattr(self._raw, "read1", None)
        data: bytes = read1(size) if read1 is not None else self._raw.read(size)
        if self._keeping:
            self._kept += data
        return data


class _Reader(io.RawIOBase):
    """One pass over a :class:`Replayable`; closing it leaves the underlying stream open."""

    def __init__(self, source: Replayable, replay: bytes) -> None:
        self._source = source
        self._replay = replay
        self._at = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        if self._at < len(self._replay):
            data = self._replay[self._at : self._at + len(view)]
            self._at += len(data)
            if self._at >= len(self._replay):
                self._replay = b""  # replayed: let the copy go
        else:
            data = self._source._read(len(view))
        view[: len(data)] = data
        return len(data)

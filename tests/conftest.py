"""Shared test helpers: run the real entry point in-process and capture its streams."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cognibill.cli import main

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parent.parent


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Call ``cognibill ARGS`` through ``main`` (the error boundary included)."""
    monkeypatch.delenv("COGNIBILL_FORMAT", raising=False)
    monkeypatch.setenv("COLUMNS", "120")

    def run(*args: str) -> Run:
        capsys.readouterr()
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        else:  # pragma: no cover - main always exits
            code = 0
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run

"""SIGTERM and SIGHUP stop a run as Ctrl-C does (issue 11): the temporary report removed, the
previous one untouched, exit 128 + the signal, one line on stderr, no traceback. The handlers
are the CLI's only while a command runs; a signal someone else ignores (``nohup``) stays
ignored.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import cognibill.outputs.claims as claim_output
from cognibill.exitcodes import stopped_by

REPO = Path(__file__).parent.parent
REPORT = b"source,line\nlast month's report,1\n"
WORDS = {"SIGINT": "interrupted", "SIGTERM": "terminated", "SIGHUP": "hung up"}


def _export(folder: Path, rows: int) -> Path:
    export = folder / "BIG.csv"
    lines = ["Patient,DOS,CPT,Minutes"]
    lines += [f"P-{n},2026-03-{1 + n % 28:02d},97129,{8 + n % 60}" for n in range(rows)]
    export.write_text("\n".join(lines) + "\n")
    return export


def _signal_after_first_batch(monkeypatch: pytest.MonkeyPatch, signum: int) -> list[Any]:
    """The run sends itself ``signum`` once its first claim lines are written; returns what the
    handler was at that moment."""
    seen: list[Any] = []
    real = claim_output.ClaimWriter.lines

    def lines(self: claim_output.ClaimWriter, batch: Any) -> None:
        real(self, batch)
        seen.append(signal.getsignal(signum))
        os.kill(os.getpid(), signum)

    monkeypatch.setattr(claim_output.ClaimWriter, "lines", lines)
    return seen


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_stop_signal_mid_run_leaves_the_previous_report_and_no_file_behind(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    signum = getattr(signal, name)
    # as a terminal's shell leaves them: a job started with `nohup` or `&` inherits SIGHUP or
    # SIGINT ignored, which the CLI rightly keeps ignored (the test below)
    usual = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
    inherited = signal.signal(signum, usual)
    try:
        _stop_mid_run(cli, tmp_path, monkeypatch, name, signum)
    finally:
        signal.signal(signum, inherited)


def _stop_mid_run(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, signum: int
) -> None:
    export = _export(tmp_path, 50)
    report = tmp_path / "report.csv"
    report.write_bytes(REPORT)
    before = signal.getsignal(signum)
    seen = _signal_after_first_batch(monkeypatch, signum)
    run = cli("claim", str(export), "-f", "csv", "--out", str(report))
    assert run.code == stopped_by(signum) == 128 + signum
    assert run.err.splitlines()[-1] == f"cognibill: {WORDS[name]} ({name})"
    assert "Traceback" not in run.err and "error" not in run.err
    assert report.read_bytes() == REPORT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["BIG.csv", "report.csv"]
    assert seen and seen[0] is not before  # the CLI's handler while the command ran …
    assert signal.getsignal(signum) is before  # … and the one before it, after


def test_a_hangup_that_nohup_ignores_stays_ignored(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = _export(tmp_path, 20)
    seen: list[Any] = []
    real = claim_output.ClaimWriter.lines

    def lines(self: claim_output.ClaimWriter, batch: Any) -> None:
        real(self, batch)
        seen.append(signal.getsignal(signal.SIGHUP))

    monkeypatch.setattr(claim_output.ClaimWriter, "lines", lines)
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        run = cli("claim", str(export), "-f", "csv", "-q", "--out", str(tmp_path / "r.csv"))
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert run.code == 0, run.err
    assert seen and all(handler is signal.SIG_IGN for handler in seen)


def test_sigterm_mid_run_leaves_the_previous_report_byte_identical_and_nothing_else(
    tmp_path: Path,
) -> None:
    """The real thing: ``timeout``, systemd or ``docker stop`` sends SIGTERM to a run writing
    ``--out report.csv`` over last month's report."""
    export = _export(tmp_path, 60_000)  # a few seconds of work on a shared machine
    report = tmp_path / "report.csv"
    report.write_bytes(REPORT)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("COGNIBILL_FORMAT", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cognibill", "claim", export.name, "-f", "csv", "--out",
         report.name],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    temps: list[Path] = []
    deadline = time.monotonic() + 30
    while not temps and proc.poll() is None and time.monotonic() < deadline:
        temps = list(tmp_path.glob(".report.csv.*.tmp"))
        time.sleep(0.005)
    assert temps, "the run ended before its temporary report appeared"
    assert temps[0].stat().st_mode & 0o777 == 0o600  # patient data: private while written
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert err.splitlines()[-1] == "cognibill: terminated (SIGTERM)"
    assert "Traceback" not in err
    assert out == ""
    assert report.read_bytes() == REPORT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["BIG.csv", "report.csv"]

"""Faults on the output side (issue 11): devices and pipes written in place, never replaced;
a read-only folder, a full disk, a closed or broken stdout and a closed stdin as one line with
a documented exit code; the temporary report private and gone on any failure; no traceback,
and never a local value in one.

Device tests write to private device nodes made in the test's folder (as root), never to the
machine's /dev/null or /dev/full: a regression must not replace the real ones.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from cognibill.errors import EntryError, OutputError
from cognibill.exitcodes import ExitCode
from cognibill.writers import atomic_output, check_output_path, same_output_file

REPO = Path(__file__).parent.parent
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
ENV.pop("COGNIBILL_FORMAT", None)
EXPORT = "Patient,DOS,CPT,Minutes\nP-1,2026-03-02,97129,38\nP-2,2026-03-02,97129,20\n"
REPORT = "last month's report\n"


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "export.csv"
    path.write_text(EXPORT)
    return path


def _device(tmp_path: Path, name: str, major: int, minor: int) -> Path:
    """A private character device node (1,3 is null, 1,7 is full), or the machine's own when
    not root (then it cannot be replaced anyway)."""
    if os.geteuid() != 0:
        return Path("/dev") / name
    node = tmp_path / name
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(major, minor))
    except OSError:
        pytest.skip("cannot make a device node here")
    return node


def _cognibill(*args: str, stdout: Any = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cognibill", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        check=False,
        timeout=60,
    )


def _bash(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        env={**ENV, "PY": sys.executable},
        cwd=cwd,
        check=False,
        timeout=60,
    )


def _one_error_line(err: str) -> str:
    """stderr holds exactly one line, an error; no traceback."""
    assert "Traceback" not in err and "internal error" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("cognibill: error: "), err
    return lines[0]


# -- the exit code -------------------------------------------------------------------------------


def test_an_output_that_cannot_be_written_has_its_own_exit_code_5() -> None:
    assert int(ExitCode.OUTPUT) == 5
    assert OutputError("--out x.csv", "no space left on device").exit_code == ExitCode.OUTPUT
    assert str(OutputError("--out x.csv", "no space left on device")) == (
        "--out x.csv: no space left on device"
    )


# -- devices and pipes: written in place, never replaced -----------------------------------------


def test_out_to_a_device_writes_through_it_and_never_replaces_the_node(
    cli: Any, export: Path, tmp_path: Path
) -> None:
    null = _device(tmp_path, "null", 1, 3)
    before = sorted(tmp_path.iterdir())
    run = cli("claim", str(export), "-f", "csv", "-q", "--out", str(null))
    assert run.code == ExitCode.OK, run.err
    assert stat.S_ISCHR(null.stat().st_mode)  # still the device, not a file with the report
    assert sorted(tmp_path.iterdir()) == before  # no temporary file beside it


def test_out_to_a_full_device_is_one_line_exit_5_and_the_device_stays(
    cli: Any, export: Path, tmp_path: Path
) -> None:
    full = _device(tmp_path, "full", 1, 7)
    run = cli("claim", str(export), "-f", "csv", "-q", "--out", str(full))
    assert run.code == ExitCode.OUTPUT
    assert _one_error_line(run.err) == f"cognibill: error: --out {full}: no space left on device"
    assert stat.S_ISCHR(full.stat().st_mode)


@pytest.mark.parametrize("fmt", ["csv", "ndjson", "table"])
def test_out_to_a_named_pipe_feeds_its_reader_and_leaves_the_pipe(
    cli: Any, export: Path, tmp_path: Path, fmt: str
) -> None:
    fifo = tmp_path / "report.pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    lines = ["--lines"] if fmt == "table" else []  # the line table names every patient
    run = cli("claim", str(export), "-f", fmt, "-q", "--out", str(fifo), *lines)
    reader.join(10)
    assert run.code == ExitCode.OK, run.err
    assert b"P-1" in got[0] and b"P-2" in got[0]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.csv", "report.pipe"]


def test_a_device_that_cannot_be_opened_for_writing_is_refused_with_exit_5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    null = _device(tmp_path, "null", 1, 3)
    real = os.open

    def denied(path: Any, flags: int, *args: Any) -> int:
        if os.fspath(path) == str(null):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return real(path, flags, *args)

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(OutputError) as caught, atomic_output(null):
        pass
    assert caught.value.message == f"--out {null}: cannot write to it: permission denied"
    assert caught.value.exit_code == ExitCode.OUTPUT
    assert stat.S_ISCHR(null.stat().st_mode)


def test_out_through_an_open_descriptor_appends_to_that_file_and_never_renames(
    tmp_path: Path,
) -> None:
    """``--out /dev/stdout >> log``: the file the shell opened gets the report; it is not
    replaced by a new file at its path (which the shell would no longer see)."""
    log = tmp_path / "log.txt"
    log.write_text("earlier line\n")
    inode = log.stat().st_ino
    with open(log, "a") as opened, atomic_output(f"/dev/fd/{opened.fileno()}") as stream:
        stream.write("the report\n")
    assert log.read_text() == "earlier line\nthe report\n"
    assert log.stat().st_ino == inode
    assert [p.name for p in tmp_path.iterdir()] == ["log.txt"]


def test_a_disk_a_socket_and_a_folder_are_refused_as_reports(tmp_path: Path) -> None:
    disks = [p for p in Path("/dev").iterdir() if p.is_block_device()]
    if disks:  # only looked at (stat), never opened
        with pytest.raises(EntryError, match="block device"):
            check_output_path(disks[0])
    sock_path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        with pytest.raises(EntryError, match="socket"):
            check_output_path(sock_path)
    with pytest.raises(EntryError, match="is a directory") as caught:
        check_output_path(tmp_path)
    assert caught.value.exit_code == ExitCode.USAGE


def test_out_newdir_with_a_slash_is_a_clear_error_never_a_file_named_newdir(
    tmp_path: Path,
) -> None:
    with pytest.raises(EntryError) as caught:
        check_output_path(f"{tmp_path}/newdir/")
    assert "names a folder (it ends with /)" in caught.value.message
    assert caught.value.exit_code == ExitCode.USAGE
    assert list(tmp_path.iterdir()) == []


def test_claim_out_newdir_slash_exits_2_and_writes_nothing(
    cli: Any, export: Path, tmp_path: Path
) -> None:
    run = cli("claim", str(export), "-f", "csv", "-q", "--out", f"{tmp_path}/newdir/")
    assert run.code == ExitCode.USAGE
    assert "names a folder" in run.err
    assert not (tmp_path / "newdir").exists()


def test_out_and_errors_may_both_go_to_a_device_but_not_to_one_file(tmp_path: Path) -> None:
    null = _device(tmp_path, "null", 1, 3)
    assert not same_output_file(null, null)
    assert same_output_file(tmp_path / "r.csv", tmp_path / "sub" / ".." / "r.csv")


# -- the temporary file ---------------------------------------------------------------------------


def test_the_temporary_report_is_private_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "claims.csv"
    mask = os.umask(0)
    try:
        with atomic_output(target) as stream:
            stream.write("P-1 …\n")
            (temp,) = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
            assert stat.S_IMODE(temp.stat().st_mode) == 0o600
    finally:
        os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666  # a new report: 0666 less the umask


def test_a_full_disk_when_saving_is_an_output_error_and_leaves_the_old_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "claims.csv"
    target.write_text(REPORT)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError) as caught, atomic_output(target) as stream:
        stream.write("new report\n" * 1000)
    assert caught.value.exit_code == ExitCode.OUTPUT
    assert caught.value.message == f"--out {target}: cannot save it: no space left on device"
    assert target.read_text() == REPORT
    assert list(tmp_path.iterdir()) == [target]


def test_a_write_error_mid_report_is_an_output_error_and_leaves_the_old_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "claims.csv"
    target.write_text(REPORT)
    real = os.write

    def quota(fd: int, data: bytes) -> int:
        if os.path.realpath(f"/proc/self/fd/{fd}").endswith(".tmp"):
            raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))
        return real(fd, data)

    monkeypatch.setattr(os, "write", quota)
    with pytest.raises(OutputError, match="quota"), atomic_output(target) as stream:
        stream.write("x" * 100_000)
        stream.flush()
    assert target.read_text() == REPORT
    assert list(tmp_path.iterdir()) == [target]


def test_out_into_a_read_only_folder_is_one_line_exit_5_and_the_old_report_stays(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "export.csv").write_text(EXPORT)
    (folder / "claims.csv").write_text(REPORT)
    folder.chmod(0o555)
    command = [sys.executable, "-m", "cognibill", "claim", "export.csv", "--out", "claims.csv"]
    if os.geteuid() == 0:  # root writes anywhere: drop the capability that lets it
        if shutil.which("setpriv") is None:
            pytest.skip("root without setpriv: a read-only folder cannot be simulated")
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
    try:
        done = subprocess.run(
            [*command, "-f", "csv", "-q"],
            capture_output=True,
            text=True,
            env=ENV,
            cwd=folder,
            check=False,
            timeout=60,
        )
    finally:
        folder.chmod(0o755)
    assert done.returncode == ExitCode.OUTPUT, done.stderr
    assert _one_error_line(done.stderr) == (
        f"cognibill: error: --out claims.csv: cannot write in {folder}: permission denied"
    )
    assert (folder / "claims.csv").read_text() == REPORT
    assert sorted(p.name for p in folder.iterdir()) == ["claims.csv", "export.csv"]


# -- standard streams -----------------------------------------------------------------------------


def test_stdout_on_a_full_disk_is_one_line_and_exit_5(export: Path) -> None:
    """CSV: polars writes it, and hands the stream's error back as a plain OSError."""
    if not Path("/dev/full").is_char_device():
        pytest.skip("no /dev/full")
    with open("/dev/full", "w") as full:  # only written to, as the shell's `> /dev/full` does
        done = _cognibill("claim", str(export), "-f", "csv", "-q", stdout=full)
    assert done.returncode == ExitCode.OUTPUT
    assert _one_error_line(done.stderr) == (
        "cognibill: error: standard output: no space left on device"
    )


def test_closed_stdout_is_one_line_and_exit_5_unless_the_report_goes_to_out(
    export: Path, tmp_path: Path
) -> None:
    done = _bash(
        '"$PY" -m cognibill units 38 -f csv >&- ; echo "exit $?" >&2;'
        f'"$PY" -m cognibill claim {export} -f csv -q --out claims.csv >&- ; echo "exit $?" >&2',
        tmp_path,
    )
    first, code, second = done.stderr.splitlines()
    assert first == "cognibill: error: standard output: cannot write to it: it is closed"
    assert (code, second) == ("exit 5", "exit 0")
    assert (tmp_path / "claims.csv").read_text().count("P-") == 3  # 97129 + 97130, and 97129


def test_closed_stdin_is_an_input_error_exit_3_when_dash_is_read(tmp_path: Path) -> None:
    done = _bash('"$PY" -m cognibill claim - -f csv -q <&-', tmp_path)
    assert done.returncode == ExitCode.INPUT
    assert _one_error_line(done.stderr) == (
        "cognibill: error: <stdin>: cannot read it: standard input is closed"
    )


def test_out_dev_stdout_into_a_pipe_its_reader_closed_ends_quietly(export: Path) -> None:
    """``--out /dev/stdout | head -c1``: the reader is gone; the run ends at once and quietly
    (SIGPIPE, the shell's 141), never with exit 4, "Exception ignored" or a traceback. (Plain
    stdout into ``| head``: tests/test_export_edges.py.)"""
    read, write = os.pipe()
    os.close(read)
    try:
        done = _cognibill(
            "claim", str(export), "-f", "csv", "-q", "--out", "/dev/stdout", stdout=write
        )
    finally:
        os.close(write)
    assert done.returncode in (-13, 128 + 13), done.stderr
    assert done.stderr == ""


# -- the error boundary ---------------------------------------------------------------------------


def test_an_internal_error_never_shows_local_values_even_with_debug(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cognibill.engine.one_visit as one_visit

    def boom(*args: object, **kwargs: object) -> None:
        patient_id = "P-SECRET-4471"  # noqa: F841 - a local a traceback with locals would show
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(one_visit, "one_visit", boom)
    quiet = cli("units", "38")
    assert quiet.code == ExitCode.INTERNAL and "Traceback" not in quiet.err
    debug = cli("--debug", "units", "38")
    assert debug.code == ExitCode.INTERNAL
    assert "Traceback" in debug.err and "P-SECRET-4471" not in debug.err


def test_every_output_error_names_the_output_and_the_problem_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "x.csv"
    cases = {
        str(missing): f"--out {missing}: the directory {missing.parent} does not exist",
        f"{tmp_path}/x/": f"--out {tmp_path}/x/: names a folder (it ends with /), not a file",
        str(tmp_path): f"--out {tmp_path}: is a directory",
    }
    for given, message in cases.items():
        with pytest.raises(EntryError) as caught:
            check_output_path(given)
        assert caught.value.message == message
        assert "\n" not in caught.value.message

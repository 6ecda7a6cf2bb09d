"""The HTML report in a real browser: headless Chromium loads it with no console error, no
network request, and paints something (issue 13).

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: commands
on descriptor 3, answers on 4, each a JSON text ended by a NUL byte), so the test needs no
driver package and no port: it sees every request the page makes (``Network``), every console
message and CSP refusal (``Log``, ``Runtime``), and takes the screenshot (``Page``). Skipped
where Chromium is not installed (``.ci/run`` installs Debian's ``chromium`` when it can).
"""

from __future__ import annotations

import base64
import io
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

SAMPLE = str(REPO / "sample_sessions" / "clinic_visits.csv")


def chromium_path() -> str | None:
    """The Chromium to drive: ``$CHROMIUM``, else Debian's ``/usr/bin/chromium``, else one on
    the PATH."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


CHROMIUM = chromium_path()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


class Browser:
    """One headless Chromium and one page, over the DevTools pipe."""

    def __init__(self, process: subprocess.Popen[bytes], commands: int, answers: int) -> None:
        self.process = process
        self.commands = commands
        self.answers = answers
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def send(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if self.session is not None and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply is None:
                raise TimeoutError(method)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while True:
            event = self._read(deadline)
            if event is None:
                raise TimeoutError(method)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def drain(self, seconds: float) -> None:
        """Collect the events that come in ``seconds`` (late console messages, requests)."""
        deadline = time.monotonic() + seconds
        while (event := self._read(deadline)) is not None:
            self.events.append(event)

    def _read(self, deadline: float) -> dict[str, Any] | None:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.answers], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.answers, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self.buffer += chunk
        text, _, self.buffer = self.buffer.partition(b"\0")
        message: dict[str, Any] = json.loads(text)
        return message

    def open(self, url: str, width: int = 1200, height: int = 900) -> None:
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Network", "Log", "Runtime", "Page"):
            self.send(f"{domain}.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.events.clear()  # about:blank's own events
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def screenshot(self, full_page: bool = False) -> bytes:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            metrics = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params["clip"] = {
                "x": 0,
                "y": 0,
                "width": metrics["width"],
                "height": metrics["height"],
                "scale": 1,
            }
        return base64.b64decode(self.send("Page.captureScreenshot", **params)["data"])

    def requests(self) -> list[str]:
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def console_errors(self) -> list[str]:
        out = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                out.append(params["entry"]["text"])
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning"):
                out.append(str(params.get("args")))
            elif method == "Runtime.exceptionThrown":
                out.append(str(params["exceptionDetails"]))
        return out


@contextmanager
def browser() -> Iterator[Browser]:
    """A headless Chromium with a throwaway profile, ended with the block."""
    assert CHROMIUM is not None
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()
    # Chromium's ends are moved above 9, clear of the 3 and 4 they go to.
    to_browser_r, from_browser_w = (_above_9(fd) for fd in (to_browser_r, from_browser_w))
    with tempfile.TemporaryDirectory() as profile:
        args = [
            "--headless",
            "--remote-debugging-pipe",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            "about:blank",
        ]
        # The pipe must be descriptors 3 and 4 in Chromium: bash puts them there (dash takes
        # no descriptor above 9 in a redirection).
        script = (
            f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w} '
            f"{to_browser_r}<&- {from_browser_w}>&-"
        )
        process = subprocess.Popen(
            [shutil.which("bash") or "/bin/bash", "-c", script, CHROMIUM, *args],
            pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        driver = Browser(process, to_browser_w, from_browser_r)
        try:
            yield driver
        finally:
            try:
                driver.session = None
                driver.send("Browser.close", timeout=5)
            except (OSError, RuntimeError, TimeoutError):
                pass
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            os.close(to_browser_w)
            os.close(from_browser_r)


def _above_9(fd: int) -> int:
    import fcntl

    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


def distinct_colours(png: bytes) -> int:
    """How many colours a screenshot holds (a blank page has one)."""
    from PIL import Image  # pillow comes with matplotlib, the report's chart library

    with Image.open(io.BytesIO(png)) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    return len(colours) if colours is not None else 1 << 20


@pytest.fixture(scope="module")
def report_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "report.html"
    done = subprocess.run(
        [sys.executable, "-m", "cognibill", "report", SAMPLE, "-o", str(out), "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    return out


def test_the_report_loads_with_no_console_error_and_no_network_request(
    report_page: Path,
) -> None:
    url = report_page.as_uri()
    with browser() as chromium:
        chromium.open(url)
        png = chromium.screenshot()
        chromium.drain(0.5)
        assert chromium.console_errors() == []
        assert [u for u in chromium.requests() if u != url] == []
    assert png.startswith(b"\x89PNG") and distinct_colours(png) > 16


def test_the_harness_sees_a_fetch_and_a_csp_refusal(tmp_path: Path) -> None:
    # The two checks above would catch a page that reaches out: without a policy the request
    # is seen; with the report's policy the attempt is seen, refused, and said on the console.
    fetching = tmp_path / "fetching.html"
    fetching.write_text('<p>x</p><img src="http://127.0.0.1:9/pixel.png">', encoding="utf-8")
    policy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    refused = tmp_path / "refused.html"
    refused.write_text(
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
        '<p>x</p><img src="http://127.0.0.1:9/pixel.png">',
        encoding="utf-8",
    )
    with browser() as chromium:
        chromium.open(fetching.as_uri())
        chromium.drain(0.5)
        assert "http://127.0.0.1:9/pixel.png" in chromium.requests()
    with browser() as chromium:
        chromium.open(refused.as_uri())
        chromium.drain(0.5)
        # the attempt is still seen (then refused: loadingFailed, blockedReason "csp")
        assert "http://127.0.0.1:9/pixel.png" in chromium.requests()
        blocked = [
            e["params"].get("blockedReason")
            for e in chromium.events
            if e.get("method") == "Network.loadingFailed"
        ]
        assert blocked == ["csp"]
        assert any("Content Security Policy" in m for m in chromium.console_errors())

"""Write ``docs/report.png``, README's screenshot of the HTML report, from the real program.

Runs ``cognibill report`` on the bundled sample into a temporary page, then has headless
Chromium (Debian's ``chromium``, or ``$CHROMIUM``) take a screenshot of its top part.

    python scripts/report_screenshot.py                 # docs/report.png, 1200 x 1600
    python scripts/report_screenshot.py --height 2400 --out /tmp/report.png
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_sessions" / "clinic_visits.csv"


def chromium() -> str:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise SystemExit("report_screenshot: no chromium (apt-get install chromium)")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "report.png")
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=1600)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cognibill-shot-") as tmp:
        page = Path(tmp) / "report.html"
        made = subprocess.run(
            [
                sys.executable,
                "-m",
                "cognibill",
                "report",
                str(SAMPLE.relative_to(REPO)),
                "--out",
                str(page),
                "-q",
            ],
            cwd=REPO,
            check=False,
        )
        if made.returncode not in (0, 1):  # 1: the sample has findings, on purpose
            return made.returncode
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shot = subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                "--disable-background-networking",
                "--no-first-run",
                f"--user-data-dir={Path(tmp) / 'profile'}",
                f"--window-size={args.width},{args.height}",
                f"--screenshot={args.out}",
                page.as_uri(),
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if shot.returncode != 0 or not args.out.exists():
            sys.stderr.write(shot.stderr)
            return 1
    print(f"wrote {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

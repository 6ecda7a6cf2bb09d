"""Run every ``$ cognibill …`` example in README.md and check (or rewrite) the output shown.

    python scripts/readme_examples.py          # rewrite README.md with the real output
    python scripts/readme_examples.py --check  # exit 1 when README.md has drifted

Examples are ```console blocks; each ``$ `` line is run with bash from the repository root, with
the installed ``cognibill`` on PATH, NO_COLOR set and a 100-column terminal, stdout and stderr
merged as a terminal would show them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"```console\n(.*?)```", re.S)


def run_example(command: str) -> str:
    env = dict(os.environ)
    env.update({"NO_COLOR": "1", "COLUMNS": "100", "TERM": "dumb"})
    env.pop("COGNIBILL_FORMAT", None)
    env.pop("FORCE_COLOR", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    return "\n".join(line.rstrip() for line in done.stdout.rstrip("\n").splitlines())


def render_block(body: str) -> str:
    commands = [line[2:] for line in body.splitlines() if line.startswith("$ ")]
    parts = []
    for command in commands:
        output = run_example(command)
        parts.append(f"$ {command}\n{output}\n" if output else f"$ {command}\n")
    return "".join(parts)


def refresh(text: str) -> str:
    return BLOCK.sub(lambda m: f"```console\n{render_block(m.group(1))}```", text)


_TIMING = re.compile(r"\d+\.\d+ s$", re.M)


def _masked(text: str) -> str:
    """The text with run times masked: they differ from run to run."""
    return _TIMING.sub("N s", text)


def main() -> int:
    readme = REPO / "README.md"
    text = readme.read_text("utf-8")
    new = refresh(text)
    if "--check" in sys.argv:
        if _masked(new) != _masked(text):
            sys.stderr.write("README.md examples differ from the real output; run this script.\n")
            return 1
        return 0
    readme.write_text(new, "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

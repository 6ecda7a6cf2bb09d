"""``cognibill report``: one self-contained HTML page that fetches nothing (issue 13)."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import REPO

SAMPLE = str(REPO / "sample_sessions" / "clinic_visits.csv")
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("report") / "report.html"
    done = subprocess.run(
        [sys.executable, "-m", "cognibill", "report", SAMPLE, "--out", str(out), "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr  # the sample has errors: exit codes as claim's
    return out.read_text("utf-8")


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parsed(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    return parser


def test_the_page_has_no_script_and_refers_to_nothing_outside(page: str) -> None:
    assert "<script" not in page.lower()
    tags = _parsed(page).tags
    for _, attrs in tags:
        for name in ("src", "href", "xlink:href", "action", "srcset", "poster", "data"):
            value = attrs.get(name)
            assert value is None or value.startswith("#"), (name, value)
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", page, re.IGNORECASE)
    assert "@import" not in page and "url(http" not in page
    assert not any(tag in ("link", "iframe", "img", "object", "embed") for tag, _ in tags)


def test_a_content_security_policy_refuses_every_fetch(page: str) -> None:
    metas = [a for t, a in _parsed(page).tags if t == "meta"]
    policy = [m for m in metas if (m.get("http-equiv") or "").lower() == "content-security-policy"]
    assert [m["content"] for m in policy] == [CSP]
    assert page.index("Content-Security-Policy") < page.index("<style")


def test_the_charts_are_inline_svg(page: str) -> None:
    assert page.count("<svg") >= 4
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page


def test_the_pages_money_totals_equal_claims_json_summary(cli, page: str) -> None:  # type: ignore[no-untyped-def]
    summary = cli("claim", SAMPLE, "-f", "json").json()["summary"]
    for name, label in (
        ("allowed", "Allowed"),
        ("payer_pays", "Payer pays"),
        ("patient_owes", "Patient owes"),
    ):
        money = summary[name]
        low, high = (money, money) if isinstance(money, str) else (money["low"], money["high"])
        assert _card(page, label) == _dollars(low, high)
    assert _card(page, "Visits") == f"{summary['visits']:,}"
    assert _card(page, "Units") == f"{summary['units']:,}"


def _dollars(low: str, high: str) -> str:
    def one(text: str) -> str:
        whole, _, cents = text.partition(".")
        return f"${int(whole):,}.{cents}"

    return one(low) if low == high else f"{one(low)}–{one(high)}"


def _card(page: str, key: str) -> str:
    found = re.search(rf'<div class="k">{re.escape(key)}</div><div class="v">([^<]*)</div>', page)
    assert found, key
    return found.group(1)


def test_findings_by_rule_counts_equal_the_findings(cli, page: str) -> None:  # type: ignore[no-untyped-def]
    data = cli("check", SAMPLE, "-f", "json").json()
    counted: dict[str, int] = {}
    for finding in data["findings"]:
        if finding["line"] is not None and finding["id"] != "rejected-row":
            counted[finding["id"]] = counted.get(finding["id"], 0) + 1
    shown = dict(
        re.findall(
            r'<tr><td><code>([a-z0-9-]+)</code></td><td>.*?</td><td class="n">([0-9,]+)</td>',
            page,
        )
    )
    assert {k: int(v.replace(",", "")) for k, v in shown.items()} == counted


def test_the_sections_a_biller_needs_are_there(page: str) -> None:
    for section in (
        "totals",
        "payers",
        "findings",
        "attention",
        "left-on-the-table",
        "thresholds",
        "providers",
        "codes",
        "rejected",
    ):
        assert f'<section id="{section}">' in page
    assert "sample_sessions/clinic_visits.csv:40" in page  # the rejected row's line


def test_the_page_is_the_same_every_time(tmp_path: Path) -> None:
    outs = []
    for name in ("a.html", "b.html"):
        out = tmp_path / name
        subprocess.run(
            [sys.executable, "-m", "cognibill", "report", SAMPLE, "-o", str(out), "-q"],
            check=False,
        )
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_a_script_in_a_patient_id_is_escaped(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    export = tmp_path / "hostile.csv"
    export.write_text(
        "Patient,DOS,Provider,Discipline,CPT,Minutes,Modifiers,Payer\n"
        '<script>alert(1)</script>,2026-03-02,"<img src=x onerror=alert(2)>",pt,97532,30,GP,'
        "medicare\n"
        "$\\frac{a}{b}$ --> \x1b[31m,2026-03-02,Ann Lee,pt,97110,22,GP,medicare\n",
        encoding="utf-8",
    )
    out = tmp_path / "report.html"
    run = cli("report", str(export), "--out", str(out))
    assert run.code == 1, run.err
    html = out.read_text("utf-8")
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\x1b" not in html and "\\x1b[31m" in html


def test_report_refuses_to_write_over_its_input(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    export = tmp_path / "visits.csv"
    export.write_bytes(Path(SAMPLE).read_bytes())
    run = cli("report", str(export), "--out", str(export))
    assert run.code == 2 and export.read_bytes() == Path(SAMPLE).read_bytes()


def test_report_exits_0_with_fail_on_never_and_writes_stdout(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("report", SAMPLE, "--fail-on", "never", "-q")
    assert run.code == 0 and run.out.startswith("<!DOCTYPE html>") and run.err == ""


def test_other_commands_never_import_matplotlib() -> None:
    code = (
        "import sys\n"
        "from cognibill.cli import main\n"
        f"try:\n    main(['claim', {SAMPLE!r}, '-q', '-f', 'json'])\n"
        "except SystemExit:\n    pass\n"
        "print('matplotlib' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.stdout.strip().splitlines()[-1] == "False"

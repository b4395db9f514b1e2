"""The ledger web page: server-rendered HTML with inline SVG, checked as HTML and in headless Chromium."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser

import httpx2
import pytest

from dsobridge.sandbox import InProcessTransport, LoopbackServer
from dsobridge.sandbox.mydso import ImportOptions, MyDsoSandbox
from dsobridge.sandbox.mydso.web import format_amount

PASSWORD = "pw-web-visible-nowhere"
CLIENTS = (
    "client_code;client_business_name;client_field_perso1\n"
    "C1;Nordisk Stål A/S;NORTH\nC2;Syd Handel ApS;SOUTH\nC3;Smith & <Sons>;\n"
)
# The worked example of receivables.md as open on 30 June 2025, plus a 500 credit note for C3.
ITEMS = (
    "item_type;item_number;client_code;item_date_issue;item_date_due;item_amount_initial_inc_tax;"
    "item_amount_remaining_inc_tax\n"
    "FAC;1001;C1;2025-01-29;2025-02-28;30000.00;30000.00\n"
    "FAC;1002;C1;2025-03-16;2025-04-15;570000.00;40000.00\n"
    "FAC;1003;C1;2025-04-10;2025-05-10;400000.00;50000.00\n"
    "FAC;1004;C2;2025-05-21;2025-06-20;330000.00;60000.00\n"
    "FAC;1005;C2;2025-05-15;2025-07-15;20000.00;20000.00\n"
    "FAC;1006;C2;2025-06-10;2025-07-10;480000.00;480000.00\n"
    "FAC;1007;C1;2025-06-01;2025-06-30;20000.00;20000.00\n"
    "AVO;1008;C3;2025-06-15;2025-06-15;-500.00;-500.00\n"
)
BARS = {
    "not_due": "520000.00",
    "1_30": "60000.00",
    "31_60": "50000.00",
    "61_90": "40000.00",
    "over_90": "30000.00",
    "unallocated_credits": "-500.00",
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[MyDsoSandbox]:
    with MyDsoSandbox(accounts={"acme": PASSWORD}, today=date(2025, 6, 30)) as sb:
        for kind, text, options in [("clients", CLIENTS, None), ("items", ITEMS, ImportOptions(stock=True))]:
            report = sb.import_file("acme", kind, io.BytesIO(text.encode()), options)
            assert report["success"] and report["rejected"] == 0, report
        yield sb


class Dom(HTMLParser):
    """Every element as (tag, attributes, text directly inside it)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], list[str]]] = []
        self._stack: list[tuple[str, dict[str, str], list[str]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        element = (tag, {k: v or "" for k, v in attrs}, [])
        self.elements.append(element)
        if tag not in ("input", "meta", "br", "line", "polyline"):
            self._stack.append(element)

    def handle_endtag(self, tag):
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if self._stack:
            self._stack[-1][2].append(data)

    def find(self, tag: str, **attrs: str) -> list[tuple[dict[str, str], str]]:
        return [
            (a, "".join(t).strip())
            for g, a, t in self.elements
            if g == tag and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]


def check_account_page(dom: Dom) -> None:
    bars = {a["data-bucket"]: a["data-amount"] for a, _ in dom.find("rect", **{"class": "bar"})}
    assert bars == BARS
    titles = [t for _, t in dom.find("title")]
    assert "61–90: 40,000.00 DKK" in titles and "Credits: -500.00 DKK" in titles
    labels = [t for _, t in dom.find("text", **{"class": "bar-label"})]
    assert labels == ["Not due", "1–30", "31–60", "61–90", "> 90", "Credits"]
    values = [t for _, t in dom.find("text", **{"class": "bar-value"})]
    assert values == ["520,000.00", "60,000.00", "50,000.00", "40,000.00", "30,000.00", "-500.00"]
    heights = {a["data-bucket"]: float(a["height"]) for a, _ in dom.find("rect", **{"class": "bar"})}
    assert heights["not_due"] > heights["1_30"] > heights["31_60"] > heights["61_90"] > heights["over_90"] > 0
    dso_bars = dom.find("rect", **{"class": "dso-bar"})
    assert [a["data-month"] for a, _ in dso_bars] == ["2025-04", "2025-05", "2025-06"]
    assert dso_bars[-1][0]["data-dso"] == "47.71" and dso_bars[-1][0]["data-lower-bound"] == "false"
    assert len(dom.find("polyline", id="best-line")) == 1
    assert [a["id"] for a, _ in dom.find("div", **{"class": "kpi"})] == [
        "kpi-countback-dso",
        "kpi-standard-dso",
        "kpi-best-dso",
        "kpi-add",
        "kpi-overdue-pct",
        "kpi-receivables",
    ]
    labels = [t for _, t in dom.find("span", **{"class": "muted"})][:2]
    assert labels == ["DSO (countback)", "DSO (standard, 91 days)"]
    bold = [t for _, t in dom.find("b")]
    # The 500 credit note nets both receivables and June turnover: 699,500 / 1,249,500 × 91 = 50.94.
    assert bold[:6] == ["47.71 d", "50.94 d", "31.77 d", "15.94 d", "25.7 %", "699,500.00 DKK"]
    assert [a["data-code"] for a, _ in dom.find("tr", **{"class": "client"})] == ["C1", "C2", "C3"]


def check_statement_page(dom: Dom) -> None:
    rows = [a["data-key"] for a, _ in dom.find("tr", **{"class": "item open"})]
    assert rows == ["C2|FAC|1004|2025", "C2|FAC|1006|2025", "C2|FAC|1005|2025"]
    assert dom.find("b", id="balance")[0][1] == "560,000.00 DKK"
    bars = {a["data-bucket"]: a["data-amount"] for a, _ in dom.find("rect", **{"class": "bar"})}
    assert bars["1_30"] == "60000.00" and bars["not_due"] == "500000.00" and bars["31_60"] == "0.00"


@pytest.fixture(scope="module")
def http(sandbox) -> Iterator[httpx2.Client]:
    transport = InProcessTransport(sandbox.app)
    with httpx2.Client(transport=transport, base_url="http://mydso.test") as client:
        yield client
    transport.close()


def test_account_page_html(http):
    response = http.get("/ui/acme", params={"months": "3"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    check_account_page(Dom(response.text))
    assert "Smith &amp; &lt;Sons&gt;" in response.text and "<Sons>" not in response.text
    assert PASSWORD not in response.text


def test_statement_page_html(http):
    response = http.get("/ui/acme/clients/C2")
    assert response.status_code == 200
    check_statement_page(Dom(response.text))


def test_index_redirect_and_not_found(http):
    index = http.get("/ui")
    assert [a["href"] for a, _ in Dom(index.text).find("a", **{"class": "account"})] == ["/ui/acme"]
    assert PASSWORD not in index.text
    root = http.get("/")
    assert (root.status_code, root.headers["location"]) == (307, "/ui")
    assert http.get("/ui/nobody").status_code == 404
    assert http.get("/ui/acme/clients/NOPE").status_code == 404


def test_as_of_and_format():
    assert format_amount("1234567.5") == "1,234,567.5"
    assert format_amount("-500.00") == "-500.00"
    assert format_amount("1235") == "1,235"
    assert format_amount(None) == "–"


def test_page_as_of_earlier_date(http):
    dom = Dom(http.get("/ui/acme", params={"as_of": "2025-05-31", "months": "2"}).text)
    assert [a["data-month"] for a, _ in dom.find("rect", **{"class": "dso-bar"})] == ["2025-04", "2025-05"]
    bars = {a["data-bucket"]: a["data-amount"] for a, _ in dom.find("rect", **{"class": "bar"})}
    # Before the only import, each item counts at the remaining amount of its first event.
    assert [bars[b] for b in ("not_due", "1_30", "31_60", "61_90", "over_90")] == [
        "80000.00",
        "50000.00",
        "40000.00",
        "0.00",
        "30000.00",
    ]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(url: str, tmp_path, *extra: str) -> str:
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1100,1400", *extra, url,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on this machine")
def test_pages_in_headless_chromium(sandbox, tmp_path):
    with LoopbackServer(sandbox.app) as server:
        check_account_page(Dom(chromium(f"{server.url}/ui/acme?months=3", tmp_path, "--dump-dom")))
        check_statement_page(Dom(chromium(f"{server.url}/ui/acme/clients/C2", tmp_path, "--dump-dom")))
        shot = tmp_path / "page.png"
        chromium(f"{server.url}/ui/acme?months=3", tmp_path, f"--screenshot={shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_a_lower_bound_dso_is_marked_at_least_everywhere_on_the_page():
    # An ODI (a fee) is receivable but not turnover: 1,500 open against 1,000 of sales, all in June, so the
    # countback runs out of history after June's 30 days and the DSO is only known to be at least 30.
    items = (
        "item_type;item_number;client_code;item_date_issue;item_date_due;item_amount_initial_inc_tax\n"
        "FAC;1;C1;2025-06-01;2025-07-01;1000.00\nODI;2;C1;2025-06-10;2025-06-10;500.00\n"
    )
    with MyDsoSandbox(accounts={"acme": PASSWORD}, today=date(2025, 6, 30)) as sb:
        for kind, text in [("clients", CLIENTS), ("items", items)]:
            assert sb.import_file("acme", kind, io.BytesIO(text.encode()))["rejected"] == 0
        transport = InProcessTransport(sb.app)
        with httpx2.Client(transport=transport, base_url="http://mydso.test") as client:
            dom = Dom(client.get("/ui/acme", params={"months": "2"}).text)
        transport.close()
    bars = [
        (a["data-month"], a["data-dso"], a["data-lower-bound"])
        for a, _ in dom.find("rect", **{"class": "dso-bar"})
    ]
    assert bars == [("2025-05", "0.00", "false"), ("2025-06", "30.00", "true")]
    assert [t for _, t in dom.find("text", **{"class": "dso-value"})] == ["0.00", "≥30.00"]
    assert [t for _, t in dom.find("b")][:2] == ["≥ 30.00 d", "45.00 d"]  # standard: 1,500 / 1,000 × 30
    assert [t for _, t in dom.find("span", **{"class": "muted"})][1] == "DSO (standard, 30 days)"
    cells = [t for _, t in dom.find("td", **{"class": "num"})]
    assert cells[cells.index("1,500.00") + 1] == "≥ 30.00"  # the history table, June's row

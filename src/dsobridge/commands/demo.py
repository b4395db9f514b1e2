"""``dsobridge demo``: both sandboxes on loopback, a realistic company, STOCK then DELTA sync, unattended."""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.rule import Rule
from rich.table import Table

from dsobridge.commands._serving import idle_until_interrupted, sandbox_day, stop_on_sigterm

DEMO_LOGIN = "demo"


def _config_text(dyn_url: str, api_id: int, mydso_url: str, state: Path) -> str:
    return f"""\
[dynaccount]
api_id = {api_id}
base_url = "{dyn_url}"
page_size = 1000

[mydso]
base_url = "{mydso_url}"
login = "{DEMO_LOGIN}"

[sync]
state = "{state}"

[filters]
exclude_groups = ["Koncern"]
"""


def ledger_open_items(http: Any, mydso_url: str) -> dict[str, tuple[str, Decimal]]:
    """The My DSO Manager sandbox ledger's open items: item key → (currency, open amount)."""
    response = http.get(f"{mydso_url}/ledger/items", params={"status": "open"})
    response.raise_for_status()
    body = response.json()
    rows = body.get("items", body) if isinstance(body, dict) else body
    return {r["item_key"]: (r["currency"], Decimal(r["amount_open"])) for r in rows}


def dynaccount_open_items(source: Any, mapper: Any) -> dict[str, tuple[str, Decimal]]:
    """Dynaccount's open items by the open-item rule (included debtors only): key → (currency, remaining)."""
    from dsobridge.sync.extract import Extractor
    from dsobridge.sync.openitems import open_items

    extractor = Extractor(source)
    included = {}
    for row in extractor.debtors():
        info = mapper.debtor_info(row)
        included[info.number] = not info.excluded
    return {
        item.unique_key: (item.currency, item.remaining)
        for item in open_items(
            matches=extractor.open_matches(),
            invoices=extractor.open_invoices(),
            creditnotes=extractor.open_creditnotes(),
            payments=extractor.open_payments(),
        )
        if included.get(item.debtor)
    }


def totals(items: dict[str, tuple[str, Decimal]]) -> str:
    """``DKK 1234.50 · EUR 99.00``: open amounts are summed per currency, never across currencies."""
    sums: dict[str, Decimal] = {}
    for currency, amount in items.values():
        sums[currency] = sums.get(currency, Decimal(0)) + amount
    return " · ".join(f"{currency} {sums[currency]}" for currency in sorted(sums))


def compare(
    console: Console, expected: dict[str, tuple[str, Decimal]], actual: dict[str, tuple[str, Decimal]]
) -> bool:
    """Item by item: the same keys, currencies and open amounts on both sides."""
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    wrong = sorted(k for k in set(expected) & set(actual) if expected[k] != actual[k])
    ok = not (missing or extra or wrong)
    mark = "[green]identical[/green]" if ok else "[red]DIFFERENT[/red]"
    console.print(f"open items: Dynaccount {len(expected)} · My DSO Manager ledger {len(actual)} → {mark}")
    console.print(f"  open amounts: {totals(expected)}", markup=False)
    for label, keys in (("missing at My DSO Manager", missing), ("extra", extra), ("amount differs", wrong)):
        if keys:
            console.print(f"  {label}: {len(keys)} e.g. {keys[:5]}", markup=False)
    return ok


def compare_dso(console: Console, items: list[Any], as_of: date, http: Any, mydso_url: str) -> bool:
    """Countback DSO per currency as of ``as_of``: computed from Dynaccount (every document, every match)
    against the figure the My DSO Manager sandbox ledger computes from what the sync delivered."""
    from dsobridge.receivables import dso
    from dsobridge.sync.measures import currencies

    ok = True
    for currency in currencies(items):
        mine = dso(items, as_of, currency)
        response = http.get(
            f"{mydso_url}/ledger/dso", params={"as_of": as_of.isoformat(), "currency": currency}
        )
        response.raise_for_status()
        body = response.json()
        same = (body["receivables"], body["countback_dso"]) == (
            str(mine.receivables),
            str(mine.countback.days),
        )
        ok &= same
        mark = "[green]equal[/green]" if same else "[red]DIFFERENT[/red]"
        console.print(
            f"countback DSO {currency} as of {as_of}: Dynaccount {mine.countback.days} d · "
            f"My DSO Manager ledger {body['countback_dso']} d → {mark}"
        )
    return ok


def _run_table(result: Any) -> Table:
    from dsobridge.sync.report import result_table

    return result_table(result)


@click.command("demo")
@click.option(
    "--serve", is_flag=True, help="Afterwards keep both sandboxes and the ledger page up until Ctrl-C."
)
@click.option("--debtors", type=int, default=300, show_default=True)
@click.option("--invoices", type=int, default=5000, show_default=True)
@click.option(
    "--days", type=int, default=30, show_default=True, help="How far the clock moves before the DELTA."
)
@click.option(
    "--history", "history_months", type=int, default=6, show_default=True, help="Months of history."
)
@click.option(
    "--workdir", type=click.Path(file_okay=False, path_type=Path), help="Keep files here (default: temp)."
)
@click.option("--today", "today_text", metavar="YYYY-MM-DD", help="The company's date (default: today).")
def demo(
    serve: bool,
    debtors: int,
    invoices: int,
    days: int,
    history_months: int,
    workdir: Path | None,
    today_text: str | None,
) -> None:
    """Run the whole product on local sandboxes: seed, STOCK sync with history, 30 days later a DELTA sync."""
    today = sandbox_day(today_text) or date.today()
    if workdir is not None:
        _demo(serve, debtors, invoices, days, history_months, workdir, today)
        return
    with tempfile.TemporaryDirectory(prefix="dsobridge-demo-") as work:  # deleted however the demo ends
        _demo(serve, debtors, invoices, days, history_months, Path(work), today)


def _demo(
    serve: bool, debtors: int, invoices: int, days: int, history_months: int, work: Path, today: date
) -> None:
    from dsobridge.sandbox import LoopbackServer
    from dsobridge.sandbox.dynaccount import DynaccountSandbox
    from dsobridge.sandbox.mydso import MyDsoSandbox
    from dsobridge.sync.config import load_config
    from dsobridge.sync.delivery import Endpoints
    from dsobridge.sync.engine import SyncOptions
    from dsobridge.sync.mapping import Mapper
    from dsobridge.sync.measure_tables import aging_table, dso_table
    from dsobridge.sync.measures import receivable_items
    from dsobridge.sync.runner import run_sync

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=150)
    started = time.monotonic()
    work.mkdir(parents=True, exist_ok=True)
    password = os.environ.get("DSOBRIDGE_DEMO_PASSWORD") or secrets.token_urlsafe(16)

    console.print(Rule("dsobridge demo"))
    console.print(f"working directory: {work}", markup=False)
    dyn_sb = DynaccountSandbox(work / "dynaccount.sqlite3", today=today)
    dso_sb = MyDsoSandbox(work / "mydso.sqlite3", accounts={DEMO_LOGIN: password}, today=today)
    with LoopbackServer(dyn_sb.app) as dyn_srv, LoopbackServer(dso_sb.app) as dso_srv:
        console.print(f"Dynaccount sandbox      {dyn_srv.url}  (API v5, signed requests)")
        console.print(f"My DSO Manager sandbox  {dso_srv.url}  (import API, ledger)")
        t = time.monotonic()
        counts = dyn_sb.seed(debtors=debtors, invoices=invoices, seed=1)
        console.print(
            f"seeded a company as of {today}: "
            + ", ".join(f"{n} {t}" for t, n in counts.items() if n)
            + f" ({time.monotonic() - t:.1f} s)",
            markup=False,
        )

        config_path = work / "dsobridge.toml"
        config_path.write_text(
            _config_text(dyn_srv.url, dyn_sb.credentials.api_id, dso_srv.url, work / "state.sqlite3"),
            encoding="utf-8",
        )
        env = {
            "DSOBRIDGE_DYNACCOUNT_API_KEY": dyn_sb.credentials.api_key,
            "DSOBRIDGE_DYNACCOUNT_API_SECRET": dyn_sb.credentials.api_secret,
            "DSOBRIDGE_MYDSO_PASSWORD": password,
        }
        config = load_config(config_path, env=env)
        mapper = Mapper(config.mapping, config.users)
        import httpx2

        http = httpx2.Client(auth=httpx2.BasicAuth(DEMO_LOGIN, password), timeout=60)
        ok = True

        def check() -> bool:
            with Endpoints(config) as ends:
                expected = dynaccount_open_items(ends.source, mapper)
            return compare(console, expected, ledger_open_items(http, dso_srv.url))

        # --- STOCK with history -----------------------------------------------------------------------------
        console.print(Rule(f"1. STOCK sync with {history_months} months of history"))
        result = run_sync(config, SyncOptions(mode="stock", history_months=history_months), today=today)
        console.print(_run_table(result))
        console.print(
            f"balance check: {'OK' if result.balance_ok else 'FAILED'} on {result.balance_checked} debtors · "
            f"{result.open_count} open items · {result.requests} Dynaccount requests · "
            f"{result.duration:.1f} s",
            markup=False,
        )
        if result.exit_code != 0:
            console.print(f"[red]sync failed:[/red] {result.error}")
            sys.exit(1)
        ok &= check()

        # --- 30 days later ----------------------------------------------------------------------------------
        console.print(Rule(f"2. {days} days later: new invoices, payments, a credit note"))
        moved = dyn_sb.advance(days)
        dso_sb.today = dyn_sb.today
        console.print(
            f"Dynaccount clock now {dyn_sb.today}: " + ", ".join(f"{n} {t}" for t, n in moved.items() if n),
            markup=False,
        )
        result = run_sync(config, SyncOptions(mode="delta"), today=dyn_sb.today)
        console.print(_run_table(result))
        if result.exit_code != 0:
            console.print(f"[red]sync failed:[/red] {result.error}")
            sys.exit(1)
        ok &= check()

        cleared = http.get(f"{dso_srv.url}/ledger/items", params={"status": "cleared"}).json()
        cleared_rows = cleared.get("items", cleared) if isinstance(cleared, dict) else cleared
        recent = sorted(
            (r for r in cleared_rows if r.get("payment_date") and r["payment_date"] > today.isoformat()),
            key=lambda r: r["payment_date"],
            reverse=True,
        )
        table = Table(
            title=f"cleared by the DELTA sync ({len(recent)} items, latest 10)", title_justify="left"
        )
        for name in ("item", "client", "type", "number", "issued", "due", "amount", "paid on"):
            table.add_column(name)
        for r in recent[:10]:
            table.add_row(
                r["item_key"],
                r["client_code"],
                r["item_type"],
                r["item_number"],
                r["issue_date"],
                r["due_date"],
                f"{r['amount_initial']} {r['currency']}",
                r["payment_date"],
            )
        console.print(table)

        # --- measures ---------------------------------------------------------------------------------------
        console.print(Rule("3. receivables as of the new date"))
        with Endpoints(config) as ends:
            items = receivable_items(ends.source, mapper=mapper)
        console.print(
            aging_table(items, dyn_sb.today, title=f"aging by due date as of {dyn_sb.today} (Dynaccount)")
        )
        console.print(dso_table(items, dyn_sb.today, title=f"DSO as of {dyn_sb.today} (Dynaccount)"))
        ledger_dso = http.get(f"{dso_srv.url}/ledger/dso", params={"as_of": dyn_sb.today.isoformat()})
        if ledger_dso.status_code == 200:
            console.print(ledger_dso_table(ledger_dso.json()))
        dso_ok = compare_dso(console, items, dyn_sb.today, http, dso_srv.url)
        if not dso_ok and history_months > 0:
            ok = False
        elif not dso_ok:
            console.print(
                "  (without --history the ledger lacks the sales of invoices settled before the first sync: "
                "its DSO cannot match)",
                markup=False,
            )
        console.print(
            f"connections accepted: Dynaccount {dyn_srv.connections}, My DSO Manager {dso_srv.connections}",
            markup=False,
        )
        console.print(
            Rule(f"done in {time.monotonic() - started:.1f} s · ledgers {'agree' if ok else 'DISAGREE'}")
        )
        if serve:
            chosen = (
                "the password in $DSOBRIDGE_DEMO_PASSWORD"
                if os.environ.get("DSOBRIDGE_DEMO_PASSWORD")
                else (
                    "a random password, not shown (set DSOBRIDGE_DEMO_PASSWORD before "
                    "`dsobridge demo --serve` to choose it)"
                )
            )
            # the page's DSO history spans the months the sync sent history for (older months would only
            # know the turnover of invoices still open, and show a meaningless DSO)
            page = f"{dso_srv.url}/ui/{DEMO_LOGIN}?months={history_months + 1}"
            console.print(f"Dynaccount sandbox:       {dyn_srv.url}", markup=False)
            console.print(f"My DSO Manager sandbox:   {dso_srv.url}", markup=False)
            console.print(f"ledger web page:          {page}  (no login: loopback only)", markup=False)
            console.print(
                f"ledger JSON:              {dso_srv.url}/ledger/items?status=open  "
                f"(Basic auth: login {DEMO_LOGIN!r}, {chosen})",
                markup=False,
            )
            console.print("Ctrl-C to stop.")
            stop_on_sigterm()
            try:
                idle_until_interrupted()
            except KeyboardInterrupt:
                console.print("stopped.")
        http.close()
    dyn_sb.close()
    dso_sb.close()
    sys.exit(0 if ok else 1)


def ledger_dso_table(body: Any, months: int = 7) -> Table:
    """The monthly DSO history My DSO Manager (sandbox) computes from what the sync delivered."""
    table = Table(
        title=f"DSO history at My DSO Manager (sandbox ledger, {body.get('currency', '')})",
        title_justify="left",
    )
    for name in ("month end", "sales", "receivables", "countback DSO", "best possible", "ADD", "CEI %"):
        table.add_column(name, justify="left" if name == "month end" else "right")
    for point in (body.get("history") or [])[-months:]:
        bound = "≥ " if point.get("lower_bound") else ""
        table.add_row(
            point["as_of"],
            point["sales"],
            point["receivables"],
            f"{bound}{point['countback_dso']} d",
            f"{point['best_possible_dso']['countback']} d",
            f"{point['add']['countback']} d",
            point.get("cei") or "",
        )
    return table

"""The guards: what stops a run before anything is sent (exit code 3).

- the balance invariant: Σ open items per debtor == the debtor's ``balance`` (``--allow-mismatch`` sends
  anyway and records the mismatches);
- every clearing explained (``dsobridge.sync.clearing``; a STOCK file would clear an unexplained item);
- the source-wipe backstop (this module): the extraction returns far fewer debtors of a currency than the
  last successful full run read, or the newest invoice / credit-note number went DOWN — a wiped or different
  accounting, not business. It compares facts about what Dynaccount returned, never open amounts (payments
  lower those every day), and each currency on its own.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dsobridge.sync.openitems import check_balances

MIN_DEBTORS = 10  # a currency with fewer debtors at the last run is not compared (one deleted = −100 %)


class GuardRefusal(Exception):
    """A safety guard refused the run; no items file was sent."""


def drop_share(previous: Decimal | int, current: Decimal | int) -> Decimal:
    """The share by which ``current`` is below ``previous`` (0 when it did not drop)."""
    previous, current = Decimal(previous), Decimal(current)
    if previous <= 0 or current >= previous:
        return Decimal(0)
    return (previous - current) / previous


def check_balances_or_refuse(ctx: Any, collected: Any) -> None:
    """The balance invariant over the debtors of this run (included ones)."""
    balances = {n: d.balance for n, d in collected.debtors.items() if not d.excluded}
    result = ctx.result
    result.balance_checked = len(balances)
    result.mismatches = check_balances(collected.sums, balances)
    if result.mismatches and not ctx.options.allow_mismatch:
        listed = ", ".join(
            f"{m.debtor} (balance {m.balance}, open items {m.open_items})" for m in result.mismatches[:20]
        )
        more = f" and {len(result.mismatches) - 20} more" if len(result.mismatches) > 20 else ""
        raise GuardRefusal(
            "balance check failed: Σ open items ≠ debtor balance for "
            f"{len(result.mismatches)} debtor(s): {listed}{more}; "
            "no item sent (use --allow-mismatch to send anyway)"
        )


def source_facts(collected: Any) -> dict[str, Any]:
    """What the backstop of the next run compares with: debtors read per currency, newest numbers."""
    facts = {"debtors": dict(collected.facts.get("debtors", {}))}
    if collected.facts.get("newest"):
        facts["newest"] = dict(collected.facts["newest"])
    return facts


def check_source(ctx: Any, collected: Any) -> None:
    """The backstop against a source-side wipe, against the last successful full run of any mode."""
    facts = ctx.result.facts = source_facts(collected)
    previous = ctx.state.last_success(full_scope=True)
    if previous is None or ctx.options.force:
        return
    problems = wipe_signs(previous.facts, facts, ctx.max_drop)
    if problems:
        when = (previous.ended_at or previous.started_at or "")[:16].replace("T", " ")
        raise GuardRefusal(
            f"{'; '.join(problems)} (compared with the last successful run, #{previous.id} of {when} UTC). "
            "That looks like a wiped or a different Dynaccount accounting, not business: no item was sent or "
            "cleared. "
            "Check the accounting and the API key in Dynaccount; if the debtors really were removed, run "
            "once with --force"
        )


def wipe_signs(before: dict[str, Any], now: dict[str, Any], max_drop: Decimal) -> list[str]:
    """The facts that fell: debtors of a currency by more than ``max_drop``, a document number series."""
    problems = []
    counts = now.get("debtors", {})
    for currency, previous in sorted(before.get("debtors", {}).items()):
        current = counts.get(currency, 0)
        share = drop_share(previous, current)
        if previous >= MIN_DEBTORS and share > max_drop:
            problems.append(
                f"Dynaccount returned {current} {currency} debtor(s), {previous} at the last run "
                f"(−{share:.0%}, more than [sync] max_drop {max_drop:.0%})"
            )
    newest = now.get("newest", {})
    for table, previous in sorted(before.get("newest", {}).items()):
        current = newest.get(table)
        if current is not None and current < previous:
            problems.append(f"the newest booked {table} number went down from {previous} to {current}")
    return problems

"""Stage 4 of a run: the plan — what to send, in which order, and why each item clears; and the guards.

Input: what :func:`dsobridge.sync.collect.collect` wrote. The plan explains every item that left the open set
(:mod:`dsobridge.sync.clearing`), writes the settlement rows, checks the balance invariant and the
source-wipe backstop (:mod:`dsobridge.sync.guards`), and orders the files:

    clients → contacts → users → items (settled) → items (STOCK or DELTA) → items (history)

Nothing has been sent when it refuses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from dsobridge.sync.clearing import FORCED, Evidence, Explainer, describe_unexplained
from dsobridge.sync.collect import CLIENTS, CONTACTS, EXTRA, ITEMS, SETTLED, USERS, Collected, Counts
from dsobridge.sync.guards import GuardRefusal, check_balances_or_refuse, check_source
from dsobridge.sync.linefile import LineFile
from dsobridge.sync.mapping import SETTLEMENT_COLUMNS
from dsobridge.sync.run import ClearingInfo, RunContext
from dsobridge.sync.state import ItemState, StagedItem, parse_item_key

MATCH_MARK = "debtor_invoice_match"


@dataclass
class PlannedFile:
    file_no: int
    label: str
    kind: str
    file: LineFile
    counts: Counts
    stock: bool | None = None  # items only
    replace_users: bool | None = None  # users only

    @property
    def mode(self) -> str:
        if self.kind != "items":
            return ""
        return "STOCK" if self.stock else "DELTA"

    @property
    def rows(self) -> int:
        return len(self.file)


@dataclass
class Plan:
    files: list[PlannedFile]
    marks: dict[str, int] = field(default_factory=dict)
    forced_closes: list[ItemState] = field(default_factory=list)  # cleared by a --force'd STOCK file
    fresh_lines: dict[int, tuple[str, int]] = field(default_factory=dict)

    def to_send(self) -> list[PlannedFile]:
        """The files with rows (an empty file says nothing; an empty STOCK file would clear everything)."""
        return [p for p in self.files if p.rows]


def make_plan(ctx: RunContext, collected: Collected) -> Plan:
    """Explain the clearings, write the settlements, run the guards and order the files."""
    plan = Plan(files=[], fresh_lines=collected.fresh_lines)
    settled = ctx.files.new("items-cleared.csv", "items", ctx.csv_options("items", SETTLEMENT_COLUMNS))
    settled_counts = Counts()
    if ctx.wants("items"):
        ctx.progress.stage("clearings")
        _clearings(ctx, collected, plan, settled, settled_counts)
        check_balances_or_refuse(ctx, collected)
        if ctx.scope.full:
            check_source(ctx, collected)
    plan.files = _order(ctx, collected, settled, settled_counts)
    return plan


def _clearings(ctx: RunContext, collected: Collected, plan: Plan, settled: LineFile, counts: Counts) -> None:
    state, result = ctx.state, ctx.result
    candidates = list(state.item_states(list(collected.open_index.unseen())))
    evidence, mark = _evidence(ctx, collected, bool(candidates))
    if ctx.scope.full:
        plan.marks = {**(collected.marks or {}), MATCH_MARK: mark}
    explained = Explainer(collected.extractor, collected.debtors, evidence, ctx.today).explain(candidates)
    staged = []
    for item, reason, paid, _why in explained.clearings:
        line, digest = settled.add(ctx.mapper.settlement(item, paid))
        staged.append(StagedItem(line, settle(item, reason, paid, digest)))
        counts.changed += 1
    state.stage_items(SETTLED, staged)
    result.clearings, result.unexplained = explained.infos()
    result.unexplained.extend(_held_at_destination(ctx, collected))
    if result.unexplained:
        _unexplained(ctx, plan, result.unexplained)


def _evidence(ctx: RunContext, collected: Collected, needed: bool) -> tuple[Evidence, int]:
    """The matches that can explain clearings, and the new match mark (the newest match id)."""
    extractor = collected.extractor
    if collected.debtor_matches is not None:  # a targeted run read every match of its debtors
        return Evidence.of(collected.debtor_matches, since_delivery=False), 0
    mark = ctx.state.marks().get(MATCH_MARK)
    if not needed:
        return Evidence(since_delivery=True), extractor.newest_id(MATCH_MARK)
    if mark is None:  # a state without the mark (older version): every match, once
        evidence = Evidence.of(extractor.all_matches(), since_delivery=False)
    else:
        evidence = Evidence.of(extractor.matches_since(mark), since_delivery=True)
    return evidence, max(evidence.top_id, mark or 0)


def _held_at_destination(ctx: RunContext, collected: Collected) -> list[ClearingInfo]:
    """A STOCK file leaves out the items of debtors that could not be mapped: those open at My DSO Manager
    would be cleared by it, without a reason."""
    if not ctx.stock or not collected.held:
        return []
    open_now = {k for k in collected.held if collected.open_index.find(k) >= 0}
    out = []
    for item in ctx.state.item_states(sorted(open_now)):
        why = f"debtor {item.debtor} could not be mapped ({collected.skipped.get(item.debtor, 'skipped')})"
        out.append(
            ClearingInfo(item.unique_key, item.client, item.debtor, item.currency, item.remaining, None, why)
        )
    return out


def _unexplained(ctx: RunContext, plan: Plan, unexplained: list[ClearingInfo]) -> None:
    text = describe_unexplained(unexplained, stock=ctx.stock)
    if not ctx.stock:
        ctx.result.messages.append(text)
        return
    if not ctx.options.force:
        raise GuardRefusal(text)
    ctx.result.messages.append(f"--force: {text}")
    keys = sorted({parse_item_key(c.key) for c in unexplained})
    for item in ctx.state.item_states(keys):
        plan.forced_closes.append(settle(item, FORCED, ctx.today, item.hash))


def _order(
    ctx: RunContext, collected: Collected, settled: LineFile, settled_counts: Counts
) -> list[PlannedFile]:
    files, counts = collected.files, collected.counts
    out = master_files(ctx, collected)
    if ctx.wants("items"):
        out.append(PlannedFile(SETTLED, "items (settled)", "items", settled, settled_counts, stock=False))
        out.append(PlannedFile(ITEMS, "items", "items", files[ITEMS], counts[ITEMS], stock=ctx.stock))
        if files[EXTRA] is not files[ITEMS]:
            out.append(
                PlannedFile(EXTRA, "items (history)", "items", files[EXTRA], counts[EXTRA], stock=False)
            )
    return out


def master_files(ctx: RunContext, collected: Collected) -> list[PlannedFile]:
    """The clients, contacts and users files: master data, which never clears an item."""
    files, counts = collected.files, collected.counts
    out: list[PlannedFile] = []
    if ctx.wants("clients"):
        out.append(PlannedFile(CLIENTS, "clients", "clients", files[CLIENTS], counts[CLIENTS]))
    if ctx.wants("contacts"):
        out.append(PlannedFile(CONTACTS, "contacts", "contacts", files[CONTACTS], counts[CONTACTS]))
    if ctx.wants("users") and ctx.mapper.users:
        out.append(PlannedFile(USERS, "users", "users", files[USERS], counts[USERS], replace_users=ctx.stock))
    return out


def settle(item: ItemState, reason: str, paid: date, digest: int) -> ItemState:
    """What the state records of an item once its settlement is accepted."""
    return item._replace(hash=digest, open=False, remaining=Decimal("0.00"), reason=reason, paid=paid)

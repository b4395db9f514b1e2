"""Where a clearing is decided: why each item that was open at My DSO Manager has left the open set.

An item delivered open and not in this run's open set is cleared at My DSO Manager — by the settlement row
this run sends with its payment date, or, in a STOCK run, by the file itself. That is only right when the
run knows WHY it left, from Dynaccount's own data:

- ``matched``: payments or credit notes settled it — the matches booked since the last delivery add up to
  what was open then (or, in a targeted run, all its matches add up to its amount), or a direct look-up of
  the document says it is matched; the payment date is the latest match's;
- ``excluded``: its debtor is now left out by ``[filters]``;
- ``debtor_deleted``: its debtor no longer exists in Dynaccount (looked up by number to be sure).

Anything else — the document is still open in Dynaccount, cannot be found, or its debtor exists but was not
read — is UNEXPLAINED: a STOCK run refuses (no items file is sent), a DELTA run holds the item (sends
nothing for it).
Direct look-ups are bounded (:data:`CONFIRM_LIMIT` items a run).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from dsobridge.sync.extract import Extractor
from dsobridge.sync.mapping import DebtorInfo
from dsobridge.sync.openitems import match_targets, money, to_date
from dsobridge.sync.run import ClearingInfo
from dsobridge.sync.state import ItemState, pack_item_key, unpack_item_key

CONFIRM_LIMIT = 200  # items looked up one by one in Dynaccount per run, at most

MATCHED, EXCLUDED, DEBTOR_DELETED, FORCED = "matched", "excluded", "debtor_deleted", "forced"


@dataclass
class Evidence:
    """Σ match amounts and the latest match date per item key, from a set of matches.

    ``since_delivery``: the matches booked since the last run (a full run's window above the match mark):
    an item is settled when they add up to what was open at its delivery. Otherwise they are ALL of the
    item's matches (a targeted run reads every match of its debtors): settled when they add up to its amount.
    """

    since_delivery: bool
    sums: dict[int, Decimal] = field(default_factory=dict)
    latest: dict[int, date] = field(default_factory=dict)
    top_id: int = 0

    @classmethod
    def of(cls, matches: Iterable[Mapping[str, Any]], *, since_delivery: bool) -> Evidence:
        evidence = cls(since_delivery)
        for match in matches:
            evidence.top_id = max(evidence.top_id, int(match.get("id") or 0))
            amount = money(match.get("amount"))
            when = to_date(match.get("time"))
            for key in _match_keys(match):
                evidence.sums[key] = evidence.sums.get(key, Decimal(0)) + amount
                if when is not None and (key not in evidence.latest or when > evidence.latest[key]):
                    evidence.latest[key] = when
        return evidence

    def settled(self, item: ItemState) -> date | None:
        """The payment date when these matches settle the item, else ``None``."""
        total = self.sums.get(item.key)
        if total is None:
            return None
        owed = abs(item.remaining) if self.since_delivery else abs(item.initial)
        if abs(total) < owed:
            return None
        return self.latest.get(item.key)


def _match_keys(match: Mapping[str, Any]) -> list[int]:
    invoice, creditnote, payment = match_targets(match)
    keys = []
    if invoice:
        keys.append(pack_item_key("INVOICE", invoice))
    if creditnote:
        keys.append(pack_item_key("CREDITNOTE", creditnote))
    if payment:
        keys.append(pack_item_key("PAYMENT", payment))
    return keys


@dataclass
class Explained:
    clearings: list[tuple[ItemState, str, date, str]] = field(
        default_factory=list
    )  # state, reason, paid, why
    unexplained: list[tuple[ItemState, str]] = field(default_factory=list)  # state, what is wrong

    def infos(self) -> tuple[list[ClearingInfo], list[ClearingInfo]]:
        cleared = [_info(s, reason, why, paid) for s, reason, paid, why in self.clearings]
        return cleared, [_info(s, None, why, None) for s, why in self.unexplained]


def _info(state: ItemState, reason: str | None, why: str, paid: date | None) -> ClearingInfo:
    return ClearingInfo(
        key=state.unique_key,
        client=state.client,
        debtor=state.debtor,
        currency=state.currency,
        remaining=state.remaining,
        reason=reason,
        why=why,
        paid=paid,
    )


class Explainer:
    """Explains the items that left the open set, with the run's extraction and, when needed, look-ups."""

    def __init__(
        self,
        extractor: Extractor,
        debtors: Mapping[str, DebtorInfo],
        evidence: Evidence,
        today: date,
        *,
        confirm_limit: int = CONFIRM_LIMIT,
    ) -> None:
        self.extractor = extractor
        self.debtors = debtors
        self.evidence = evidence
        self.today = today
        self.budget = confirm_limit
        self._debtor_exists: dict[str, bool] = {}

    def explain(self, candidates: Iterable[ItemState]) -> Explained:
        out = Explained()
        for state in candidates:
            reason, paid, why = self._one(state)
            if reason is None:
                out.unexplained.append((state, why))
            else:
                out.clearings.append((state, reason, paid or self.today, why))
        return out

    def _one(self, state: ItemState) -> tuple[str | None, date | None, str]:
        info = self.debtors.get(state.debtor)
        if info is not None and info.excluded:
            return EXCLUDED, self.today, f"debtor {state.debtor} is excluded: {info.exclusion}"
        if info is None:
            exists = self._exists(state.debtor)
            if exists is False:
                return DEBTOR_DELETED, self.today, f"debtor {state.debtor} no longer exists in Dynaccount"
            if exists is True:
                return None, None, f"debtor {state.debtor} exists in Dynaccount but was not read by this run"
            return None, None, self._over_budget()
        paid = self.evidence.settled(state)
        if paid is not None:
            return MATCHED, paid, f"settled by payments or credit notes, last matched {paid.isoformat()}"
        return self._look_up(state)

    def _look_up(self, state: ItemState) -> tuple[str | None, date | None, str]:
        if self.budget <= 0:
            return None, None, self._over_budget()
        self.budget -= 1
        kind, number = unpack_item_key(state.key)
        table, where, match_field = _LOOK_UP[kind]
        rows = self.extractor.find(table, {**where, match_field[0]: number})
        if not rows:
            return None, None, "not found in Dynaccount (not booked, or deleted)"
        if str(rows[0].get("is_matched")).upper() != "YES":
            return None, None, "still open in Dynaccount, but missing from this run's extraction"
        matches = self.extractor.find("debtor_invoice_match", {**match_field[2], match_field[1]: number})
        dates = [d for d in (to_date(m.get("time")) for m in matches) if d is not None]
        if not dates:
            return MATCHED, self.today, "matched in Dynaccount (no match row found: payment date = run date)"
        paid = max(dates)
        return MATCHED, paid, f"matched in Dynaccount, last matched {paid.isoformat()}"

    def _exists(self, debtor: str) -> bool | None:
        if debtor not in self._debtor_exists:
            if self.budget <= 0:
                return None
            self.budget -= 1
            self._debtor_exists[debtor] = bool(self.extractor.find("debtor", {"module_id_": debtor}))
        return self._debtor_exists[debtor]

    @staticmethod
    def _over_budget() -> str:
        return f"not confirmed: more than {CONFIRM_LIMIT} items had to be looked up in Dynaccount one by one"


# kind → (table, fixed filter, (key field in the table, key field in the matches, fixed match filter))
_LOOK_UP: dict[str, tuple[str, dict[str, str], tuple[str, str, dict[str, str]]]] = {
    "INVOICE": ("debtor_invoice", {"is_booked": "YES"}, ("invoice_id_", "invoice_id_", {})),
    "CREDITNOTE": (
        "debtor_creditnote",
        {"is_booked": "YES"},
        ("invoice_id_", "creditnote_id_", {"is_creditnote": "YES"}),
    ),
    "PAYMENT": ("debtor_accounting_module", {}, ("id", "payment_id", {})),
}


def describe_unexplained(items: list[ClearingInfo], *, stock: bool) -> str:
    """The refusal (STOCK) or warning (DELTA) naming the first 20 items and what to check."""
    shown = "; ".join(
        f"{c.key} (client {c.client}, open {c.remaining} {c.currency}): {c.why}" for c in items[:20]
    )
    more = f"; and {len(items) - 20} more" if len(items) > 20 else ""
    head = (
        f"{len(items)} item(s) open at My DSO Manager would be cleared by this STOCK file without a reason"
        if stock
        else f"{len(items)} item(s) open at My DSO Manager left Dynaccount's open set without a reason; held"
    )
    check = (
        "Check these documents and debtors in Dynaccount (are they booked, open, readable with this API "
        "key?) and `dsobridge sync --plan`; no item was sent or cleared"
        if stock
        else "they stay open at My DSO Manager; check them in Dynaccount"
    )
    if stock:
        check += " (--force sends the STOCK file anyway and lets My DSO Manager clear them)"
    return f"{head}: {shown}{more}. {check}"

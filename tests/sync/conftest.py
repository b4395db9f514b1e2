"""Fakes for the sync's unit tests: a Dynaccount-shaped row source and a My DSO Manager-shaped sink.

The fake source keeps the four receivables tables as lists of rows shaped like ``docs/receivables-model.md``
and answers ``iter_rows`` with equality filters, ordering and paging; it can fail a table after N pages. The
fake sink applies STOCK/DELTA semantics to a small ledger so tests can compare what is open at both ends.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pytest


class PageFailure(Exception):
    pass


class FakeDynaccount:
    def __init__(self) -> None:
        self.tables: dict[str, list[dict[str, Any]]] = {
            "debtor": [],
            "contact": [],
            "contact_user": [],
            "debtor_invoice": [],
            "debtor_creditnote": [],
            "debtor_accounting_module": [],
            "debtor_invoice_match": [],
        }
        self.requests_sent = 0
        self.orders: list[tuple[str, str]] = []  # (table, order) of every page read, for tests
        self.fail_table: str | None = None
        self.fail_after_pages = 0
        self._next_number = 1001
        self._next_id = 1
        self._next_enc = 1
        self.hidden: set[tuple[str, int]] = set()

    # --- building a ledger ----------------------------------------------------------------------------
    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def debtor(self, number: int, name: str = "", **fields: Any) -> dict[str, Any]:
        row = {
            "id": number - 10000,
            "module_id_": number,
            "name": name or f"Kunde {number} ApS",
            "module_group_name": "Indland",
            "vatno": f"DK{number}",
            "address": "Vej 1",
            "zip": "8000",
            "city": "Aarhus C",
            "ref_country_name": "DK",
            "email": f"info@{number}.dk",
            "phone": "12345678",
            "email_statement": "",
            "attention_name": "",
            "attention_email": "",
            "attention_phone": "",
            "attention_position": "",
            "credit_max": Decimal("0.00"),
            "payment_name": "Netto 30 dage",
            "ref_currency_name": "DKK",
            "is_blocked": "NO",
            "balance": Decimal("0.00"),
            "due": Decimal("0.00"),
        }
        row.update(fields)
        self.tables["debtor"].append(row)
        return row

    def person(self, debtor: int, name: str, email: str = "", *, position: str = "", phone: str = "") -> None:
        """A person on the debtor's contact card (``contact`` + ``contact_user``)."""
        card = next((c for c in self.tables["contact"] if c["module_id_"] == debtor), None)
        if card is None:
            card = {"id": self._id(), "module_id": debtor - 10000, "module_id_": debtor, "name": name}
            self.tables["contact"].append(card)
        self.tables["contact_user"].append(
            {
                "id": self._id(),
                "contact_id": card["id"],
                "name": name,
                "position": position,
                "phone": phone,
                "email": email,
            }
        )

    def _debtor_row(self, number: int) -> dict[str, Any]:
        return next(d for d in self.tables["debtor"] if d["module_id_"] == number)

    def recompute(self) -> None:
        """Set is_matched flags and debtor balances by the open-item rule (what the real service does)."""
        matches = self.tables["debtor_invoice_match"]
        by_invoice: dict[int, Decimal] = {}
        by_note: dict[int, Decimal] = {}
        by_payment: dict[int, Decimal] = {}
        for m in matches:
            by_invoice[m["invoice_id_"]] = by_invoice.get(m["invoice_id_"], Decimal(0)) + m["amount"]
            if m["is_creditnote"] == "YES":
                by_note[m["creditnote_id_"]] = by_note.get(m["creditnote_id_"], Decimal(0)) + m["amount"]
            else:
                by_payment[m["payment_id"]] = by_payment.get(m["payment_id"], Decimal(0)) + m["amount"]
        balances: dict[int, Decimal] = {}
        open_numbers: set[int] = set()
        open_payments: set[int] = set()
        for inv in self.tables["debtor_invoice"]:
            rem = inv["total_amount"] - by_invoice.get(inv["invoice_id_"], Decimal(0))
            inv["is_matched"] = "YES" if rem == 0 else "NO"
            if rem:
                open_numbers.add(inv["invoice_id_"])
                balances[inv["module_id_"]] = balances.get(inv["module_id_"], Decimal(0)) + rem
        for cn in self.tables["debtor_creditnote"]:
            rem = cn["total_amount"] - by_note.get(cn["invoice_id_"], Decimal(0))
            cn["is_matched"] = "YES" if rem == 0 else "NO"
            if rem:
                open_numbers.add(cn["invoice_id_"])
                balances[cn["module_id_"]] = balances.get(cn["module_id_"], Decimal(0)) - rem
        for p in self.tables["debtor_accounting_module"]:
            if p["type"] != "PAYMENT":
                continue
            rem = -p["currency_amount"] - by_payment.get(p["id"], Decimal(0))
            p["is_matched"] = "YES" if rem == 0 else "NO"
            if rem:
                open_payments.add(p["id"])
                balances[p["module_id_"]] = balances.get(p["module_id_"], Decimal(0)) - rem
        for m in matches:
            touches_open = m["invoice_id_"] in open_numbers or (
                m["creditnote_id_"] in open_numbers
                if m["is_creditnote"] == "YES"
                else m["payment_id"] in open_payments
            )
            m["is_matched"] = "NO" if touches_open else "YES"
        for d in self.tables["debtor"]:
            d["balance"] = balances.get(d["module_id_"], Decimal("0.00"))

    def invoice(
        self, debtor: int, total: str, issued: date, due: date, *, order: str = "", currency: str = "DKK"
    ) -> int:
        number = self._next_number
        self._next_number += 1
        amount = Decimal(total)
        self.tables["debtor_invoice"].append(
            {
                "id": self._id(),
                "module_id_": debtor,
                "module_id": debtor - 10000,
                "invoice_id_": number,
                "time": issued.isoformat(),
                "time_due": due.isoformat(),
                "currency_name": currency,
                "total_amount": amount,
                "vat_amount": (amount / 5).quantize(Decimal("0.01")),
                "order_id_": order,
                "txt": f"Faktura {number}",
                "is_booked": "YES",
                "is_matched": "NO",
            }
        )
        self.recompute()
        return number

    def creditnote(self, debtor: int, total: str, when: date, *, invoice: int = 0) -> int:
        number = self._next_number
        self._next_number += 1
        amount = Decimal(total)
        self.tables["debtor_creditnote"].append(
            {
                "id": self._id(),
                "module_id_": debtor,
                "module_id": debtor - 10000,
                "invoice_id_": number,
                "credit_invoice_id_": invoice,
                "time": when.isoformat(),
                "currency_name": "DKK",
                "total_amount": amount,
                "vat_amount": (amount / 5).quantize(Decimal("0.01")),
                "txt": f"Kreditnota {number}",
                "is_booked": "YES",
                "is_matched": "NO",
            }
        )
        if invoice:
            self.match(invoice, total, when, creditnote=number)
        self.recompute()
        return number

    def payment(self, debtor: int, amount: str, when: date, *, invoice: int = 0, allocate: str = "") -> int:
        posting = self._id()
        enc = self._next_enc
        self._next_enc += 1
        self.tables["debtor_accounting_module"].append(
            {
                "id": posting,
                "module_id_": debtor,
                "module_id": debtor - 10000,
                "type": "PAYMENT",
                "invoice_id_": 0,
                "enc_id_": enc,
                "time": when.isoformat(),
                "time_due": "",
                "txt": "Indbetaling",
                "amount": -Decimal(amount),
                "currency_name": "DKK",
                "currency_amount": -Decimal(amount),
                "is_booked": "YES",
                "is_matched": "NO",
            }
        )
        if invoice:
            self.match(invoice, allocate or amount, when, payment=posting)
        self.recompute()
        return posting

    def match(self, invoice: int, amount: str, when: date, *, creditnote: int = 0, payment: int = 0) -> None:
        inv = next(i for i in self.tables["debtor_invoice"] if i["invoice_id_"] == invoice)
        self.tables["debtor_invoice_match"].append(
            {
                "id": self._id(),
                "time": when.isoformat(),
                "invoice_id_": invoice,
                "amount": Decimal(amount),
                "is_creditnote": "YES" if creditnote else "NO",
                "creditnote_id_": creditnote,
                "payment_id": payment,
                "module_id_": inv["module_id_"],
                "is_matched": "NO",
            }
        )
        self.recompute()

    def hide_open(self, table: str, number: int) -> None:
        """Make the bulk read of the open set miss a document (a look-up by its number still finds it)."""
        self.hidden.add((table, number))

    # --- the RowSource protocol ---------------------------------------------------------------------------
    def iter_rows(self, table, *, select=None, where=None, order=None, page_size=1000):
        where = where or {}
        rows = [r for r in self.tables[table] if all(str(r.get(k)) == str(v) for k, v in where.items())]
        if "invoice_id_" not in where:
            rows = [r for r in rows if (table, r.get("invoice_id_")) not in self.hidden]
        key, _, direction = (order or "id").partition(" ")
        descending = direction.strip().lower() == "desc"
        rows.sort(key=lambda r: (int(r.get(key) or 0) * (-1 if descending else 1), r["id"]))
        for pages, start in enumerate(range(0, len(rows) + 1, page_size)):
            self.requests_sent += 1
            self.orders.append((table, order or "id"))
            if self.fail_table == table and pages >= self.fail_after_pages:
                raise PageFailure("HTTP 500 on /v5/1234/SECRETKEY/get/...")
            page = rows[start : start + page_size]
            yield from (dict(r) for r in page)
            if len(page) < page_size:
                return


_AMOUNTS = {
    "item_amount_initial_inc_tax",
    "item_amount_initial",
    "item_amount_remaining_inc_tax",
    "item_amount_remaining",
    "client_credit_limit",
}
_DATES = {"item_date_issue", "item_date_due", "item_date_payment"}
_FLAGS = {"client_blocked", "contact_collection"}


def read_csv_file(path, encoding="UTF-8") -> list[dict[str, Any]]:
    """A file as the engine sent it, back to typed rows: Decimal amounts, dates, flags, None for empty."""
    with open(path, encoding=encoding, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    out = []
    for row in rows:
        typed: dict[str, Any] = {}
        for column, text in row.items():
            if text == "":
                typed[column] = None
            elif column in _AMOUNTS:
                typed[column] = Decimal(text)
            elif column in _DATES:
                typed[column] = date.fromisoformat(text)
            elif column in _FLAGS:
                typed[column] = text == "1"
            else:
                typed[column] = text
        out.append(typed)
    return out


@dataclass
class Report:
    success: bool = True
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    cleared: int = 0
    rejected: int = 0
    rejected_rows: list[Any] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


class FakeMyDso:
    """Records every delivery and keeps a ledger: item key → row with an open/cleared state."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.deliveries: list[tuple[str, bool | None, list[dict[str, Any]]]] = []
        self.clients: dict[str, dict[str, Any]] = {}
        self.contacts: dict[str, dict[str, Any]] = {}
        self.users: list[dict[str, Any]] = []
        self.items: dict[str, dict[str, Any]] = {}
        self.fail_kind: str | None = None

    def deliver(self, file):
        kind, stock = file.kind, file.stock
        rows = read_csv_file(file.path, file.encoding)
        if self.fail_kind == kind:
            raise RuntimeError(f"{kind} import failed")
        self.deliveries.append((kind, stock, rows))
        report = Report(rows=len(rows), raw={"success": True, "file_type": kind, "rows": len(rows)})
        if kind == "clients":
            for r in rows:
                if r["client_code"] in self.clients:
                    report.updated += 1
                else:
                    report.added += 1
                self.clients[r["client_code"]] = r
        elif kind == "contacts":
            for r in rows:
                self.contacts[f"{r['client_code']}|{r.get('contact_email') or r['contact_lastname']}"] = r
                report.added += 1
        elif kind == "users":
            self.users.extend(rows)
            report.added += len(rows)
        else:
            keys = set()
            for r in rows:
                key = r["item_unique_key"]
                keys.add(key)
                if key in self.items:
                    report.updated += 1
                else:
                    report.added += 1
                r = dict(r)
                r["open"] = not r.get("item_date_payment")
                self.items[key] = r
            if stock:
                for key, r in self.items.items():
                    if key not in keys and r["open"]:
                        r["open"] = False
                        r["item_date_payment"] = self.today
                        report.cleared += 1
        return report

    def open_items(self) -> dict[str, Decimal]:
        return {k: r["item_amount_remaining_inc_tax"] for k, r in self.items.items() if r["open"]}


@pytest.fixture
def dyn() -> FakeDynaccount:
    return FakeDynaccount()


@pytest.fixture
def dso() -> FakeMyDso:
    return FakeMyDso(date(2026, 11, 20))

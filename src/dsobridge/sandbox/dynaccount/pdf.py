"""Real PDFs (fpdf2) for ``document`` (invoice, order, quote) and the 5 reports of the seed.

The general ledger is not stored by the sandbox; the reports derive it from the debtor sub-ledger:
an invoice debits 5600 Debitorer and credits 1000 Salg (net) and 7200 Salgsmoms (VAT); a credit note the
reverse; a payment debits 5820 Bank and credits 5600. Amounts in DKK. Long reports stop at ``MAX_LINES``.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import defaultdict
from decimal import Decimal

from fpdf import FPDF

from dsobridge.sandbox.dynaccount import seeddata
from dsobridge.sandbox.dynaccount.errors import Invalid, NotFound
from dsobridge.sandbox.dynaccount.store import fetch_one
from dsobridge.sandbox.dynaccount.values import from_cents, parse_date

REPORTS = (
    "ledger_balance",
    "ledger_cards",
    "module_ledger_balance",
    "module_ledger_cards",
    "module_turnover",
)
MAX_LINES = 3000
ACCOUNTS = {1000: "Salg af varer og ydelser", 5600: "Debitorer", 5820: "Bank", 7200: "Salgsmoms"}
_DOCS = {
    "invoice": (
        "debtor_invoice",
        "debtor_invoice_product",
        "invoice_id",
        "invoice_id_",
        "Faktura",
        "Invoice",
    ),
    "order": ("debtor_order", "debtor_order_product", "order_id", "order_id_", "Ordre", "Order"),
    "quote": ("debtor_quote", "debtor_quote_product", "quote_id", "quote_id_", "Tilbud", "Quote"),
}
_TITLES = {
    "ledger_balance": ("Saldobalance", "Trial balance"),
    "ledger_cards": ("Kontokort", "Ledger cards"),
    "module_ledger_balance": ("Debitorsaldoliste", "Debtor balances"),
    "module_ledger_cards": ("Debitorkontokort", "Debtor ledger cards"),
    "module_turnover": ("Debitoromsætning", "Debtor turnover"),
}


def _latin(text: object) -> str:
    return str(text).encode("latin-1", "replace").decode("latin-1")


def _money(cents: int) -> str:
    value = from_cents(cents)
    sign = "-" if value < 0 else ""
    whole, frac = f"{abs(value):.2f}".split(".")
    return f"{sign}{int(whole):,}".replace(",", ".") + "," + frac


class _Pdf(FPDF):
    def __init__(self, title: str, company: str) -> None:
        super().__init__(format="A4")
        self._title = _latin(title)
        self._company = _latin(company)
        self.set_auto_page_break(auto=True, margin=15)
        self.set_title(self._title)
        self.set_creator("dsobridge Dynaccount sandbox")
        self.add_page()

    def header(self) -> None:
        self.set_font("Helvetica", "B", 14)
        self.cell(0, 8, self._title, new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", "", 9)
        self.cell(0, 5, self._company, new_x="LMARGIN", new_y="NEXT")
        self.ln(3)

    def row(self, cells: list[tuple[str, float, str]], bold: bool = False) -> None:
        self.set_font("Helvetica", "B" if bold else "", 8)
        for text, width, align in cells:
            self.cell(width, 5, _latin(text)[:80], align=align)
        self.ln(5)

    def bytes(self) -> bytes:
        return bytes(self.output())


def _company(c: sqlite3.Connection) -> str:
    own = seeddata.company(c)
    return f"{own['name']} · CVR {own['vatno']}"


def document_pdf(c: sqlite3.Connection, kind: str, number: int) -> bytes:
    spec = _DOCS.get(kind)
    if spec is None:
        raise NotFound(f"Unknown document '{kind}' (invoice, order or quote)")
    table, lines, fk, number_field, title_da, _ = spec
    doc = fetch_one(c, f"SELECT * FROM {table} WHERE {number_field}=? LIMIT 1", (number,))  # noqa: S608
    if doc is None or number <= 0:
        raise NotFound(f"No {kind} number {number}")
    debtor = c.execute(
        "SELECT name, module_id_, vatno, ean FROM debtor WHERE module_id_=?", (doc["module_id_"],)
    ).fetchone() or ("", doc["module_id_"], "", "")
    pdf = _Pdf(f"{title_da} {number}", _company(c))
    pdf.set_font("Helvetica", "", 10)
    for text in (
        debtor[0],
        doc.get("attention_name", ""),
        doc.get("address", ""),
        f"{doc.get('zip', '')} {doc.get('city', '')}",
        f"Kundenr. {debtor[1]}"
        + (f" · CVR {debtor[2]}" if debtor[2] else "")
        + (f" · EAN {debtor[3]}" if debtor[3] else ""),
    ):
        if text.strip():
            pdf.cell(0, 5, _latin(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.cell(
        0,
        5,
        _latin(f"Dato {doc['time']}" + (f"   Forfald {doc['time_due']}" if doc.get("time_due") else "")),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.cell(0, 5, _latin(f"Valuta {doc['currency_name']}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.row([("Tekst", 90, "L"), ("Antal", 20, "R"), ("Pris", 30, "R"), ("Beløb", 40, "R")], bold=True)
    for txt, qty, price, amount in c.execute(
        f"SELECT txt, qty, price, total_amount - vat_amount FROM {lines} WHERE {fk}=? ORDER BY sort, id",  # noqa: S608
        (doc["id"],),
    ):
        pdf.row([(txt, 90, "L"), (_money(qty), 20, "R"), (_money(price), 30, "R"), (_money(amount), 40, "R")])
    pdf.ln(2)
    net = doc["total_amount"] - doc["vat_amount"]
    for label, value in (("Subtotal", net), ("Moms", doc["vat_amount"]), ("Total", doc["total_amount"])):
        pdf.row([(label, 140, "R"), (_money(value), 40, "R")], bold=label == "Total")
    if doc.get("fi_payment_id_"):
        pdf.ln(4)
        pdf.row([(f"Betalingsid: {doc['fi_payment_id_']}", 180, "L")])
    return pdf.bytes()


def _period(params: dict[str, str], today: dt.date) -> tuple[dt.date, dt.date]:
    try:
        start = parse_date(params["time_from"]) if params.get("time_from") else today.replace(month=1, day=1)
        end = parse_date(params["time_to"]) if params.get("time_to") else today
    except (ValueError, OverflowError, OSError):
        raise Invalid(
            {"time_from": "time_from/time_to must be dates (YYYY-MM-DD, m-d-Y, m-d-y or Unix time)"}
        ) from None
    if end < start:
        raise Invalid({"time_to": "Must not be before time_from"})
    return start, end


def _gl_entries(c: sqlite3.Connection, start: dt.date | None, end: dt.date):
    """(account, date, enc no, text, DKK hundredths signed debit+) derived from the debtor sub-ledger."""
    sql = (
        "SELECT p.type, p.time, p.enc_id_, p.txt, p.amount, p.currency_rate, "
        "coalesce(i.vat_amount, n.vat_amount, 0), coalesce(i.total_amount, n.total_amount, 0) "
        "FROM debtor_accounting_module p "
        "LEFT JOIN debtor_invoice i ON p.type='INVOICE' AND i.invoice_id_ = p.invoice_id_ "
        "LEFT JOIN debtor_creditnote n ON p.type='CREDITNOTE' AND n.invoice_id_ = p.invoice_id_ "
        "WHERE p.time <= ? AND p.time >= ? ORDER BY p.time, p.id"
    )
    for kind, time, enc, txt, amount, _rate, vat, total in c.execute(
        sql, (end.isoformat(), (start or dt.date.min).isoformat())
    ):
        vat_dkk = int((Decimal(amount) * vat / total).quantize(Decimal(1))) if total else 0
        if kind == "PAYMENT":
            yield 5820, time, enc, txt, -amount
            yield 5600, time, enc, txt, amount
        else:
            yield 5600, time, enc, txt, amount
            yield 1000, time, enc, txt, -(amount - vat_dkk)
            yield 7200, time, enc, txt, -vat_dkk


def report_pdf(c: sqlite3.Connection, name: str, lang: str, params: dict[str, str], today: dt.date) -> bytes:
    if name not in REPORTS:
        raise NotFound(f"Unknown report '{name}'")
    if lang not in ("da", "en", ""):
        raise Invalid({"lang": "Must be da or en"})
    english = lang == "en"
    start, end = _period(params, today)
    title = _TITLES[name][1 if english else 0]
    pdf = _Pdf(f"{title} {start.isoformat()} - {end.isoformat()}", _company(c))
    lines = 0
    if name == "ledger_balance":
        sums: dict[int, int] = defaultdict(int)
        for account, *_rest, amount in _gl_entries(c, None, end):
            sums[account] += amount
        pdf.row(
            [("Konto" if not english else "Account", 30, "L"), ("", 100, "L"), ("Saldo", 50, "R")], bold=True
        )
        for account in sorted(sums):
            pdf.row(
                [(str(account), 30, "L"), (ACCOUNTS[account], 100, "L"), (_money(sums[account]), 50, "R")]
            )
        pdf.row([("", 130, "L"), (_money(sum(sums.values())), 50, "R")], bold=True)
    elif name == "ledger_cards":
        low = _account_bound(params.get("account_from", ""), 0)
        high = _account_bound(params.get("account_to", ""), 10**9)
        per_account: dict[int, list] = defaultdict(list)
        for account, time, enc, txt, amount in _gl_entries(c, start, end):
            if low <= account <= high:
                per_account[account].append((time, enc, txt, amount))
        for account in sorted(per_account):
            pdf.row([(f"{account} {ACCOUNTS[account]}", 180, "L")], bold=True)
            running = 0
            for time, enc, txt, amount in per_account[account]:
                running += amount
                lines += 1
                if lines > MAX_LINES:
                    break
                pdf.row(
                    [
                        (time, 22, "L"),
                        (str(enc), 15, "R"),
                        (txt, 83, "L"),
                        (_money(amount), 30, "R"),
                        (_money(running), 30, "R"),
                    ]
                )
    elif name == "module_ledger_balance":
        pdf.row([("Nr.", 20, "L"), ("Navn", 110, "L"), ("Valuta", 15, "L"), ("Saldo", 35, "R")], bold=True)
        for number, debtor_name, currency, balance in c.execute(
            "SELECT d.module_id_, d.name, d.ref_currency_name, "
            "coalesce(sum(p.currency_amount), 0) FROM debtor d "
            "JOIN debtor_accounting_module p ON p.module_id_ = d.module_id_ AND p.time <= ? "
            "GROUP BY d.id HAVING sum(p.currency_amount) <> 0 ORDER BY d.module_id_",
            (end.isoformat(),),
        ):
            lines += 1
            if lines > MAX_LINES:
                break
            pdf.row(
                [
                    (str(number), 20, "L"),
                    (debtor_name, 110, "L"),
                    (currency, 15, "L"),
                    (_money(balance), 35, "R"),
                ]
            )
    elif name == "module_ledger_cards":
        current = None
        for number, debtor_name, time, kind, doc_no, txt, amount in c.execute(
            "SELECT p.module_id_, d.name, p.time, p.type, p.invoice_id_, p.txt, p.currency_amount "
            "FROM debtor_accounting_module p JOIN debtor d ON d.module_id_ = p.module_id_ "
            "WHERE p.time BETWEEN ? AND ? ORDER BY p.module_id_, p.time, p.id",
            (start.isoformat(), end.isoformat()),
        ):
            lines += 1
            if lines > MAX_LINES:
                break
            if number != current:
                current = number
                pdf.row([(f"{number} {debtor_name}", 180, "L")], bold=True)
            pdf.row(
                [
                    (time, 22, "L"),
                    (kind, 25, "L"),
                    (str(doc_no or ""), 18, "R"),
                    (txt, 80, "L"),
                    (_money(amount), 35, "R"),
                ]
            )
    else:  # module_turnover
        pdf.row([("Nr.", 20, "L"), ("Navn", 125, "L"), ("Omsætning", 35, "R")], bold=True)
        for number, debtor_name, turnover in c.execute(
            "SELECT d.module_id_, d.name, sum(CASE p.type WHEN 'INVOICE' THEN p.amount ELSE p.amount END) "
            "FROM debtor_accounting_module p JOIN debtor d ON d.module_id_ = p.module_id_ "
            "WHERE p.type IN ('INVOICE','CREDITNOTE') AND p.time BETWEEN ? AND ? "
            "GROUP BY d.id ORDER BY d.module_id_",
            (start.isoformat(), end.isoformat()),
        ):
            lines += 1
            if lines > MAX_LINES:
                break
            pdf.row([(str(number), 20, "L"), (debtor_name, 125, "L"), (_money(turnover), 35, "R")])
    if lines > MAX_LINES:
        pdf.row([(f"... (afkortet efter {MAX_LINES} linjer)", 180, "L")])
    return pdf.bytes()


def _account_bound(text: str, default: int) -> int:
    """An account number parameter; empty or not plain ASCII digits (``'²'``) means no bound."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else default

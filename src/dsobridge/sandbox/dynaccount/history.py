"""Eighteen months of a company's receivables: planned in compact arrays, then written day by day.

The plan draws everything from the random stream in a fixed order — invoice owners, issue dates, every
invoice's lines, every invoice's fate (credit note, payments), payments on account and bonus credit notes,
customers' order numbers — and keeps it as a few bytes per invoice (``array``), never as row objects: 1M open
items plan in well under 1 GB. Without an ``open_share`` the fates follow the payment behaviour model
(``behaviour``) and the stream is consumed exactly as the seeder always has, so a seed keeps giving the same
company.

The writer then walks the calendar, oldest day first: the day's invoices (numbered), then its credit notes
(same number series) and its customer payments, each payment as the bookkeeping path writes it (a booked
voucher in the payments journal with a bank line and a ``DEBTOR_INVOICE`` line, a ``PAYMENT`` posting and its
match). Every derived column (``is_matched``, the hidden remaining amounts, ``balance``, ``due``) is known
from the plan and written with the row, by the open-item rule.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from array import array
from dataclasses import dataclass
from typing import Any

from dsobridge.sandbox.dynaccount import documents, ledger
from dsobridge.sandbox.dynaccount.behaviour import CREDITED, PARTIAL, payment_ordinal
from dsobridge.sandbox.dynaccount.seeddata import CURRENCIES, PAYMENTS, PRODUCT_WEIGHTS, PRODUCTS, debtors

HISTORY_DAYS = 548  # 18 months of invoices
BATCH = 20_000  # rows per executemany
LINE_COUNTS = (1, 1, 2, 2, 3, 4)
QUANTITIES = (100, 100, 200, 300, 500, 1000, 50, 250)  # hundredths, for products sold by the hour or kg
NOTE, PAYMENT = 1, 2  # event kinds, in the order they are numbered within a day

_COLUMNS = {
    "debtor_invoice": "id module_id module_id_ time payment_name currency_name currency_rate order_id_ name "
    "attention address zip city ref_country_name lang invoice_id_ is_booked time_due fi_payment_id_ "
    "vat_amount "
    "total_amount total_weight profit_amount public_url sha1_ref accountoff_id is_matched is_credited "
    "is_credited_complete _remaining _credited",
    "debtor_invoice_product": "invoice_id product_id_ product_id name txt qty unit_name price discount_type "
    "discount_value vatcode_name sort total_amount vat_amount total_weight profit_amount",
    "debtor_accounting_module": "id module_id module_id_ type invoice_id_ enc_id_ time time_due txt amount "
    "currency_name currency_amount currency_rate is_booked is_matched _remaining",
    "debtor_creditnote": "id module_id module_id_ invoice_id_ credit_invoice_id_ time is_booked is_matched "
    "currency_name currency_rate vat_amount total_amount txt attention address zip city lang sha1_ref "
    "_remaining",
    "debtor_creditnote_product": "creditnote_id name txt qty qty_credited price vatcode_name total_amount "
    "vat_amount",
    "debtor_invoice_match": "module_id module_id_ time invoice_id_ creditnote_id_ payment_id amount "
    "currency_rate currency_amount is_creditnote is_matched",
    "enclosure": "id draft_id time enc_id_ txt is_booked",
    "accounting": "enclosure_id type account_id_ accountoff_id_ invoice_id_ currency_name amount "
    "currency_rate currency_amount time is_readonly",
}


class Writer:
    """Buffers rows per table and writes them with ``executemany`` every ``BATCH`` rows."""

    def __init__(self, c: sqlite3.Connection) -> None:
        self.c = c
        self.rows: dict[str, list[tuple]] = {table: [] for table in _COLUMNS}
        self.sql = {
            table: f"INSERT INTO {table} ({', '.join(cols.split())}) "  # noqa: S608
            f"VALUES ({', '.join('?' for _ in cols.split())})"
            for table, cols in _COLUMNS.items()
        }
        self.counts = dict.fromkeys(_COLUMNS, 0)

    def add(self, table: str, row: tuple) -> None:
        self.rows[table].append(row)

    def flush(self, *, full_only: bool = False) -> None:
        """Write the buffered rows (only the tables holding ``BATCH`` rows or more, with ``full_only``)."""
        for name, rows in self.rows.items():
            if rows and (len(rows) >= BATCH or not full_only):
                self.c.executemany(self.sql[name], rows)
                self.counts[name] += len(rows)
                rows.clear()  # the same list: callers may keep its append


@dataclass
class Customer:
    """What the history needs of a debtor (its full row is written once and forgotten)."""

    row_id: int
    module_no: int
    currency: str
    rate: int
    vatcode: str
    vat_percent: int
    terms: str
    header: tuple  # name, attention, address, zip, city, ref_country_name, lang
    account_row: int  # accountoff_id of its invoices: the row id of its group's account


_DEBTOR_COLUMNS = [
    "module_id_",
    "module_group_name",
    "attention_name",
    "attention_position",
    "address",
    "zip",
    "city",
    "ref_country_name",
    "ref_currency_name",
    "lang",
    "vatcode_name",
    "ean",
    "ean_contact",
    "credit_max",
    "payment_method",
    "bank_name",
    "vatno",
    "payment_name",
    "name",
    "email",
    "email_invoice",
    "email_statement",
    "phone",
    "attention_email",
    "attention_phone",
    "vatno_validation",
    "time_vatno_validation",
]


def write_debtors(c: sqlite3.Connection, rng: random.Random, n: int, today: dt.date) -> list[Customer]:
    """Write ``n`` debtors with their contact card and contact person; return what the history needs."""
    rates = {name: rate for name, _, rate in CURRENCIES}
    percents = {name: int(p) for name, p in c.execute("SELECT name, percent FROM vatcode")}
    accounts = dict(
        c.execute("SELECT g.name, a.id FROM debtor_group g JOIN account a ON a.account_id_ = g.account_id_")
    )
    created = (today - dt.timedelta(days=600)).isoformat()
    customers: list[Customer] = []
    insert = (
        f"INSERT INTO debtor (id, contact_id, {', '.join(_DEBTOR_COLUMNS)}) "  # noqa: S608
        f"VALUES (?, ?, {', '.join('?' for _ in _DEBTOR_COLUMNS)})"
    )
    rows: list[tuple] = []
    contacts: list[tuple] = []
    persons: list[tuple] = []

    def flush() -> None:
        c.executemany(insert, rows)
        c.executemany(
            "INSERT INTO contact (id, module_id, module_id_, time_created, name) VALUES (?,?,?,?,?)", contacts
        )
        c.executemany(
            "INSERT INTO contact_user (contact_id, name, position, phone, email) VALUES (?,?,?,?,?)", persons
        )
        rows.clear()
        contacts.clear()
        persons.clear()

    for i, person in enumerate(debtors(rng, n, today)):
        row_id = i + 1
        rows.append((row_id, row_id, *(person[k] for k in _DEBTOR_COLUMNS)))
        contacts.append((row_id, row_id, person["module_id_"], created, person["attention_name"]))
        persons.append(
            (row_id, person["attention_name"], person["attention_position"], person["attention_phone"],
             person["attention_email"])
        )  # fmt: skip
        currency, vatcode = person["ref_currency_name"], person["vatcode_name"]
        header = tuple(person[k] for k in ("name", "attention_name", "address", "zip", "city"))
        customers.append(
            Customer(
                row_id, person["module_id_"], currency, rates[currency], vatcode, percents[vatcode],
                person["payment_name"], (*header, person["ref_country_name"], person["lang"]),
                accounts.get(person["module_group_name"], 0),
            )
        )  # fmt: skip
        if len(rows) >= BATCH:
            flush()
    flush()
    return customers


@dataclass(frozen=True)
class Line:
    """A line of one product, quantity and discount for one kind of customer (currency, VAT), ready to
    write."""

    product_no: int
    product_row: int
    name: str
    qty: int
    unit: str
    price: int
    discount_type: str
    discount: int
    total: int
    vat: int
    weight: int
    profit: int


def _line(pid: int, customer: Customer, qty: int, discount: int) -> Line:
    """Foreign customers get prices (and costs) converted to their currency, rounded to whole units."""
    name, group, unit, price = PRODUCTS[pid]
    if customer.rate != 10000:
        price = max(100, price * 10000 // customer.rate // 100 * 100)
    kind = "PERCENT" if discount else ""
    cost, weight = price * 6 // 10, PRODUCT_WEIGHTS.get(group, 0)
    totals = documents.line_totals(qty, price, kind, discount, 0, customer.vat_percent, cost, weight)
    return Line(
        101 + pid, pid + 1, name, qty, unit, price, kind, discount, totals.total, totals.vat, totals.weight,
        totals.profit,
    )  # fmt: skip


def _date_order(ages: array) -> array:
    """Invoice indexes oldest first, ties by index (a counting sort: no list of tuples)."""
    counts = [0] * HISTORY_DAYS
    for age in ages:
        counts[age] += 1
    start = [0] * HISTORY_DAYS
    position = 0
    for age in range(HISTORY_DAYS - 1, -1, -1):
        start[age] = position
        position += counts[age]
    order = array("i", bytes(4 * len(ages)))
    for k, age in enumerate(ages):
        order[start[age]] = k
        start[age] += 1
    return order


class Plan:
    """Everything the random stream decides, by invoice position ``j`` (issue order) and by event."""

    def __init__(
        self,
        rng: random.Random,
        customers: list[Customer],
        today: dt.date,
        invoices: int,
        open_share: float | None,
    ) -> None:
        self.customers = customers
        self.today = today.toordinal()
        self.open_share = open_share
        self.terms = {name: (kind, days) for name, kind, days in PAYMENTS}
        self.due_cache: dict[tuple[str, int], int] = {}
        self.line_cache: dict[tuple[int, int], dict[int, Line]] = {}
        n, m = len(customers), invoices
        weights = [rng.paretovariate(1.3) for _ in range(n)]
        owners = array("i", rng.choices(range(n), weights=weights, k=m))
        del weights
        ages = array("H", (int(rng.random() * HISTORY_DAYS) for _ in range(m)))
        order = _date_order(ages)
        self.owner = array("i", (owners[k] for k in order))
        self.issued = array("i", (self.today - ages[k] for k in order))
        del owners, ages, order
        self._lines(rng)
        self.remaining = array("q", bytes(8 * m))
        self.credited = array("q", bytes(8 * m))
        self.ev_day, self.ev_kind, self.ev_inv, self.ev_who = array("i"), array("b"), array("i"), array("i")
        self.ev_amount, self.ev_allocated, self.ev_vat = array("q"), array("q"), array("q")
        for j in range(m):
            self._fate(rng, j)
        self._extras(rng, n, m)
        self.order_no = array("i", (rng.randint(1000, 99999) if rng.random() < 0.3 else 0 for _ in range(m)))

    def due(self, terms: str, issued: int) -> int:
        key = (terms, issued)
        due = self.due_cache.get(key)
        if due is None:
            kind, days = self.terms[terms]
            due = self.due_cache[key] = ledger.due_from_terms(
                kind, days, dt.date.fromordinal(issued)
            ).toordinal()
        return due

    def lines_for(self, customer: Customer) -> dict[int, Line]:
        """The lines already made for customers with this currency and VAT, by line code."""
        key = (customer.rate, customer.vat_percent)
        lines = self.line_cache.get(key)
        if lines is None:
            lines = self.line_cache[key] = {}
        return lines

    def line(self, code: int, customer: Customer, lines: dict[int, Line]) -> Line:
        """The line of a code (``(pid × 64 + qty / 50) × 2 + discounted``), made once per kind of customer."""
        found = lines.get(code)
        if found is None:
            pid, qty = divmod(code >> 1, 64)
            found = lines[code] = _line(pid, customer, qty * 50, 1000 if code & 1 else 0)
        return found

    # -- the stream, in the seeder's order --------------------------------------------------------------
    def _lines(self, rng: random.Random) -> None:
        self.codes, self.line_count = array("H"), array("B")
        self.total, self.vat = array("q"), array("q")
        by_hour = [PRODUCTS[pid][2] != "stk" for pid in range(len(PRODUCTS))]
        for j in range(len(self.owner)):
            customer = self.customers[self.owner[j]]
            lines = self.lines_for(customer)
            count = rng.choice(LINE_COUNTS)
            total = vat = 0
            for _ in range(count):
                pid = rng.randrange(len(PRODUCTS))
                qty = rng.choice(QUANTITIES) if by_hour[pid] else rng.randint(1, 20) * 100
                discounted = rng.random() < 0.05
                code = ((pid * 64 + qty // 50) << 1) | discounted
                self.codes.append(code)
                line = self.line(code, customer, lines)
                total += line.total
                vat += line.vat
            self.line_count.append(count)
            self.total.append(total)
            self.vat.append(vat)

    def _event(
        self, day: int, kind: int, j: int, who: int, amount: int, allocated: int, vat: int = 0
    ) -> None:
        self.ev_day.append(day)
        self.ev_kind.append(kind)
        self.ev_inv.append(j)
        self.ev_who.append(who)
        self.ev_amount.append(amount)
        self.ev_allocated.append(allocated)
        self.ev_vat.append(vat)
        if j >= 0:
            self.remaining[j] -= allocated

    def _fate(self, rng: random.Random, j: int) -> None:
        issued, who, total = self.issued[j], self.owner[j], self.total[j]
        due = self.due(self.customers[who].terms, issued)
        self.remaining[j] = total
        stays_open = self.open_share is not None and rng.random() < self.open_share
        if rng.random() < CREDITED:
            day = min(self.today, issued + rng.randint(1, 20))
            full = rng.random() < 0.5 and not stays_open
            amount = total if full else max(1, int(total * rng.uniform(0.1, 0.5)))
            self.credited[j] = amount
            self._event(day, NOTE, j, who, amount, amount, amount * self.vat[j] // total if total else 0)
        if self.remaining[j] <= 0:
            return
        if self.open_share is None:
            self._behaviour(rng, j, issued, due)
        elif stays_open:
            left = self.remaining[j]
            if left > 100 and issued < self.today and rng.random() < PARTIAL:
                amount = min(max(100, int(left * rng.uniform(0.2, 0.8)) // 100 * 100), left - 1)
                self._event(rng.randint(issued + 1, self.today), PAYMENT, j, who, amount, amount)
        else:
            self._behaviour(rng, j, issued, due)
            if self.remaining[j] > 0:  # settled by the seed date, whatever the behaviour model says
                day = rng.randint(min(issued + 1, self.today), self.today)
                self._event(day, PAYMENT, j, who, self.remaining[j], self.remaining[j])

    def _behaviour(self, rng: random.Random, j: int, issued: int, due: int) -> None:
        paid_from = issued
        for instalment in range(3):  # a partial payment leaves a remainder that is paid later, or not
            day = payment_ordinal(rng, paid_from, due)
            if day is None or day > self.today:
                return
            left = self.remaining[j]
            if rng.random() < PARTIAL and left > 100 and instalment < 2:
                amount = min(max(100, int(left * rng.uniform(0.2, 0.8)) // 100 * 100), left - 1)
            else:
                amount = left + (rng.randint(50, 500) * 100 if rng.random() < 0.005 else 0)
            self._event(day, PAYMENT, j, self.owner[j], amount, min(amount, left))
            if self.remaining[j] <= 0:
                return
            paid_from = day + 1

    def _extras(self, rng: random.Random, n: int, m: int) -> None:
        """Payments on account (unallocated) and free-standing (bonus) credit notes, at random past dates."""
        for _ in range(max(1, n // 100)):
            day = self.today - rng.randint(0, 120)
            who = rng.randrange(n)
            self._event(day, PAYMENT, -1, who, rng.randint(5, 200) * 10000, 0)
        for _ in range(max(1, m // 500)):
            amount = rng.randint(10, 500) * 1000
            who = rng.randrange(n)
            day = self.today - rng.randint(0, 200)
            self._event(
                day, NOTE, -1, who, amount, 0, 0 if self.customers[who].vat_percent == 0 else amount // 5
            )


class History:
    """Writes a plan, day by day, and keeps each debtor's balance and overdue amount."""

    def __init__(self, c: sqlite3.Connection, plan: Plan, journal: int, bank: int) -> None:
        self.plan = plan
        self.out = Writer(c)
        self.journal, self.bank = journal, bank
        n = len(plan.customers)
        self.balance, self.overdue = array("q", bytes(8 * n)), array("q", bytes(8 * n))
        self.number = array("i", bytes(4 * len(plan.owner)))
        self.next_number = ledger.FIRST_DOCUMENT_NO
        self.next_posting = 1  # debtor_accounting_module ids, and voucher numbers: one series in date order
        self.next_note = self.next_voucher = 1
        self.enc_by_year: dict[str, int] = {}
        first = plan.today - HISTORY_DAYS
        self.iso = {
            d: dt.date.fromordinal(d).isoformat() for d in range(first, plan.today + 4000)
        }  # due dates too
        self.add_invoice = self.out.rows["debtor_invoice"].append
        self.add_line = self.out.rows["debtor_invoice_product"].append
        self.add_posting = self.out.rows["debtor_accounting_module"].append
        self.matches: list[tuple[int, int, tuple]] = []  # the day's, written in invoice order

    def day(self, ordinal: int) -> str:
        text = self.iso.get(ordinal)
        if text is None:  # a due date beyond the table (payment terms of years)
            text = self.iso[ordinal] = dt.date.fromordinal(ordinal).isoformat()
        return text

    def write(self) -> dict[str, int]:
        plan = self.plan
        bits = 40
        events = sorted(
            (((plan.ev_day[e] - plan.today + HISTORY_DAYS) << (bits + 2)) | (plan.ev_kind[e] << bits) | e)
            for e in range(len(plan.ev_day))
        )
        mask = (1 << bits) - 1
        j, e, m = 0, 0, len(plan.owner)
        line_start = 0
        for ordinal in range(plan.today - HISTORY_DAYS + 1, plan.today + 1):
            while j < m and plan.issued[j] == ordinal:
                line_start = self._invoice(j, line_start)
                j += 1
            while e < len(events) and plan.ev_day[events[e] & mask] == ordinal:
                event = events[e] & mask
                if plan.ev_kind[event] == NOTE:
                    self._creditnote(event)
                else:
                    self._payment(event)
                e += 1
            self._flush_matches()
            self.out.flush(full_only=True)
        self.out.flush()
        return dict(self.out.counts)

    # -- rows -------------------------------------------------------------------------------------------
    def _invoice(self, j: int, line_start: int) -> int:
        plan = self.plan
        who = plan.owner[j]
        customer = plan.customers[who]
        number = self.number[j] = self.next_number
        self.next_number += 1
        issued = plan.issued[j]
        due = plan.due(customer.terms, issued)
        total, vat, remaining, credited = plan.total[j], plan.vat[j], plan.remaining[j], plan.credited[j]
        weight = profit = 0
        lines, codes, vatcode, add_line = (
            plan.lines_for(customer),
            plan.codes,
            customer.vatcode,
            self.add_line,
        )
        for sort in range(plan.line_count[j]):
            line = plan.line(codes[line_start + sort], customer, lines)
            weight += line.weight
            profit += line.profit
            add_line(
                (j + 1, line.product_no, line.product_row, line.name, line.name, line.qty, line.unit,
                 line.price, line.discount_type, line.discount, vatcode, sort, line.total, line.vat,
                 line.weight, line.profit)
            )  # fmt: skip
        day, due_text = self.day(issued), self.day(due)
        self.add_invoice(
            (j + 1, customer.row_id, customer.module_no, day, customer.terms, customer.currency,
             customer.rate, plan.order_no[j], *customer.header, number, "YES", due_text,
             ledger.fi_payment_id(number, customer.module_no), vat, total, weight, profit,
             ledger.public_url(number), ledger.sha1_ref("invoice", number), customer.account_row,
             "NO" if remaining else "YES", "YES" if credited else "NO", "YES" if credited >= total else "NO",
             remaining, credited)
        )  # fmt: skip
        self._posting("INVOICE", customer, number, issued, due_text, f"Faktura {number}", total, remaining)
        self.balance[who] += remaining
        if remaining > 0 and due < plan.today:
            self.overdue[who] += remaining
        return line_start + plan.line_count[j]

    def _posting(
        self, kind: str, customer: Customer, number: int, day: int, due: str, txt: str, signed: int, left: int
    ) -> int:
        posting = self.next_posting
        self.next_posting += 1
        self.enc_by_year[self.day(day)[:4]] = posting
        self.add_posting(
            (posting, customer.row_id, customer.module_no, kind, number, posting, self.day(day), due, txt,
             ledger.dkk(signed, customer.rate), customer.currency, signed, customer.rate, "YES",
             "NO" if left else "YES", left),
        )  # fmt: skip
        return posting

    def _match(
        self, j: int, event: int, day: int, amount: int, note: int, payment: int, source_left: int
    ) -> None:
        customer = self.plan.customers[self.plan.owner[j]]
        settled = "YES" if self.plan.remaining[j] == 0 and source_left == 0 else "NO"
        row = (
            customer.row_id, customer.module_no, self.day(day), self.number[j], note, payment, amount,
            customer.rate, ledger.dkk(amount, customer.rate), "YES" if note else "NO", settled,
        )  # fmt: skip
        self.matches.append((j, event, row))

    def _flush_matches(self) -> None:
        for _j, _event, row in sorted(self.matches, key=lambda m: (m[0], m[1])):
            self.out.add("debtor_invoice_match", row)
        self.matches.clear()

    def _creditnote(self, event: int) -> None:
        plan = self.plan
        j, who, day = plan.ev_inv[event], plan.ev_who[event], plan.ev_day[event]
        amount, allocated, vat = plan.ev_amount[event], plan.ev_allocated[event], plan.ev_vat[event]
        customer = plan.customers[who]
        number = self.next_number
        self.next_number += 1
        left = amount - allocated
        txt = f"Kreditnota til faktura {self.number[j]}" if j >= 0 else "Kreditnota (bonus)"
        row_id = self.next_note
        self.next_note += 1
        _name, attention, address, zip_code, city, _country, lang = customer.header
        self.out.add(
            "debtor_creditnote",
            (row_id, customer.row_id, customer.module_no, number, self.number[j] if j >= 0 else 0,
             self.day(day), "YES", "NO" if left else "YES", customer.currency, customer.rate, vat, amount,
             txt, attention, address, zip_code, city, lang, ledger.sha1_ref("creditnote", number), left),
        )  # fmt: skip
        self.out.add(
            "debtor_creditnote_product",
            (row_id, txt, txt, 100, 100, amount - vat, customer.vatcode, amount, vat),
        )
        self._posting("CREDITNOTE", customer, number, day, "", txt, -amount, left)
        if j >= 0 and allocated:
            self._match(j, event, day, allocated, number, 0, left)
        self.balance[who] -= left

    def _payment(self, event: int) -> None:
        """A booked voucher in the payments journal, its two lines, the PAYMENT posting and its match."""
        plan = self.plan
        j, who, day = plan.ev_inv[event], plan.ev_who[event], plan.ev_day[event]
        amount, allocated = plan.ev_amount[event], plan.ev_allocated[event]
        customer = plan.customers[who]
        number = self.number[j] if j >= 0 else 0
        txt = f"Indbetaling faktura {number}" if j >= 0 else "Indbetaling a conto"
        left = amount - allocated
        posting = self._posting("PAYMENT", customer, 0, day, "", txt, -amount, left)
        voucher = self.next_voucher
        self.next_voucher += 1
        when = self.day(day)
        self.out.add("enclosure", (voucher, self.journal, when, posting, txt, "YES"))
        dkk = ledger.dkk(amount, customer.rate)
        for kind, account, accountoff, paid in (
            ("LEDGER", self.bank, 0, 0),
            ("DEBTOR_INVOICE", 0, customer.module_no, number),
        ):
            self.out.add(
                "accounting",
                (
                    voucher,
                    kind,
                    account,
                    accountoff,
                    paid,
                    customer.currency,
                    amount,
                    customer.rate,
                    dkk,
                    when,
                    "YES",
                ),
            )
        if j >= 0 and allocated:
            self._match(j, event, day, allocated, 0, posting, left)
        self.balance[who] -= left

    def debtor_totals(self) -> list[tuple[Any, ...]]:
        """(balance, due, row id) of every debtor, for one UPDATE."""
        return [
            (self.balance[i], self.overdue[i], customer.row_id)
            for i, customer in enumerate(self.plan.customers)
        ]

"""A deterministic, realistic Danish company: reference data, debtors, 18 months of invoices, payments,
credit notes and unallocated payments — written with ``executemany`` (not through HTTP), then every derived
column computed once by ``ledger.recompute``. ``advance`` moves time through the ledger functions instead.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import random
import sqlite3
from typing import Any

from dsobridge.sandbox.dynaccount import crud, ledger
from dsobridge.sandbox.dynaccount.store import Store

CURRENCIES = [
    ("DKK", "Danske kroner", 10000),
    ("EUR", "Euro", 74600),
    ("USD", "US dollar", 69000),
    ("SEK", "Svenske kroner", 6500),
    ("NOK", "Norske kroner", 6400),
    ("GBP", "Britiske pund", 87000),
]
VATCODES = [  # name, type, percent, deduction, account, accountoff, txt (the seed's five + a zero code)
    ("EI25", "NET", 2500, 10000, 7220, 7210, "EU køb"),
    ("EU25", "NET", 2500, 10000, 7210, 7220, "EU salg"),
    ("I25", "GROSS", 2500, 10000, 7100, 0, "Indgående moms (Købsmoms)"),
    ("REP", "GROSS", 2500, 2500, 7100, 0, "Repræsentation"),  # 25 % deductible, as in the seed
    ("U25", "GROSS", 2500, 10000, 7200, 0, "Udgående moms (Salgsmoms)"),
    ("U0", "GROSS", 0, 10000, 7200, 0, "Momsfrit salg (udland)"),
]
ACCOUNTS = [
    (1000, "Salg af varer og ydelser", "PROFIT"),
    (1010, "Salg til udlandet", "PROFIT"),
    (1020, "Salg til koncernselskaber", "PROFIT"),
    (2000, "Vareforbrug", "PROFIT"),
    (3000, "Lønninger", "PROFIT"),
    (3400, "Husleje", "PROFIT"),
    (4000, "Renteindtægter", "PROFIT"),
    (5600, "Debitorer", "BALANCE"),
    (5700, "Varelager", "BALANCE"),
    (5820, "Bank", "BALANCE"),
    (6800, "Kreditorer", "BALANCE"),
    (7100, "Købsmoms", "BALANCE"),
    (7200, "Salgsmoms", "BALANCE"),
    (7210, "EU salg", "BALANCE"),
    (7220, "EU køb", "BALANCE"),
    (7300, "Momsafregning", "BALANCE"),
]
PAYMENTS = [
    ("Netto 8 dage", "NET", 8),
    ("Netto 14 dage", "NET", 14),
    ("Netto 30 dage", "NET", 30),
    ("Løbende måned + 30 dage", "CURRENT_MONTH", 30),
    ("Kontant", "NET", 0),
]
GROUPS = [
    ("Erhverv", 1000, "Danske erhvervskunder"),
    ("Offentlig", 1000, "Offentlige kunder (EAN)"),
    ("Udland", 1010, "Udenlandske kunder"),
    ("Koncern", 1020, "Koncernforbundne selskaber"),
]
PRODUCTS = [
    ("Konsulenttime", "Ydelser", "timer", 95000),
    ("Projektledelse", "Ydelser", "timer", 110000),
    ("Installation", "Ydelser", "timer", 62500),
    ("Service, standard", "Ydelser", "stk", 149500),
    ("Kørsel", "Ydelser", "stk", 45000),
    ("Licens, årlig", "Ydelser", "stk", 1200000),
    ("Support, måned", "Ydelser", "stk", 250000),
    ("Kontorstol Ergo", "Varer", "stk", 329900),
    ("Hæve-sænkebord", "Varer", "stk", 549500),
    ('Skærm 27"', "Varer", "stk", 219900),
    ("Kabelsæt", "Varer", "stk", 19900),
    ("Printerpapir A4, kasse", "Varer", "stk", 34900),
    ("Kaffebønner 1 kg", "Varer", "kg", 18900),
    ("Rengøringsmiddel 5 l", "Varer", "stk", 12900),
    ("Arbejdshandsker", "Varer", "stk", 7900),
    ("Sikkerhedssko", "Varer", "stk", 89900),
    ("Træskruer 500 stk", "Varer", "stk", 24900),
    ("Gipsplade", "Varer", "stk", 8900),
    ("Maling 10 l", "Varer", "stk", 79900),
    ("Isolering, rulle", "Varer", "stk", 45900),
]
FIRST = [
    "Mette",
    "Lars",
    "Anne",
    "Jens",
    "Søren",
    "Hanne",
    "Peter",
    "Kirsten",
    "Mikkel",
    "Camilla",
    "Rasmus",
    "Louise",
    "Anders",
    "Sofie",
    "Henrik",
    "Maria",
    "Thomas",
    "Line",
    "Niels",
    "Ida",
    "Frederik",
    "Julie",
    "Christian",
    "Emma",
    "Martin",
    "Karen",
    "Jesper",
    "Birgitte",
    "Ole",
    "Signe",
]
LAST = [
    "Jensen",
    "Nielsen",
    "Hansen",
    "Pedersen",
    "Andersen",
    "Christensen",
    "Larsen",
    "Sørensen",
    "Rasmussen",
    "Jørgensen",
    "Petersen",
    "Madsen",
    "Kristensen",
    "Olsen",
    "Thomsen",
    "Christiansen",
    "Poulsen",
    "Johansen",
    "Møller",
    "Mortensen",
    "Knudsen",
    "Jakobsen",
    "Frederiksen",
    "Mikkelsen",
    "Lauridsen",
    "Østergaard",
    "Dahl",
    "Bech",
    "Lund",
    "Holm",
]
TRADES = [
    "Tømrer",
    "Murer",
    "VVS",
    "El-service",
    "Byg",
    "Rengøring",
    "Transport",
    "Revision",
    "Auto",
    "IT",
    "Design",
    "Catering",
    "Maskinfabrik",
    "Ejendomsservice",
    "Kloak",
    "Glas",
    "Tag",
    "Farvehandel",
    "Trælast",
    "Arkitekter",
    "Advokater",
    "Logistik",
    "Import",
    "Møbler",
    "Gartneri",
    "Bageri",
    "Smedie",
    "Ventilation",
    "Isolering",
]
PREFIXES = [
    "Nordisk",
    "Dansk",
    "Vest",
    "Øst",
    "Syd",
    "Nord",
    "Fjord",
    "Kyst",
    "Bølge",
    "Skov",
    "Eng",
    "Havne",
    "Hede",
    "Lyng",
    "Ege",
    "Bøge",
    "Sol",
    "Vind",
]
CITIES = [
    ("1050", "København K", "København"),
    ("2100", "København Ø", "København"),
    ("8000", "Aarhus C", "Aarhus"),
    ("5000", "Odense C", "Odense"),
    ("9000", "Aalborg", "Aalborg"),
    ("6700", "Esbjerg", "Esbjerg"),
    ("8900", "Randers C", "Randers"),
    ("6000", "Kolding", "Kolding"),
    ("8700", "Horsens", "Horsens"),
    ("7100", "Vejle", "Vejle"),
    ("4000", "Roskilde", "Roskilde"),
    ("7400", "Herning", "Herning"),
    ("8600", "Silkeborg", "Silkeborg"),
    ("4700", "Næstved", "Næstved"),
    ("7000", "Fredericia", "Fredericia"),
    ("8800", "Viborg", "Viborg"),
    ("4600", "Køge", "Køge"),
    ("7500", "Holstebro", "Holstebro"),
    ("4200", "Slagelse", "Slagelse"),
    ("3400", "Hillerød", "Hillerød"),
    ("6400", "Sønderborg", "Sønderborg"),
    ("2630", "Taastrup", "Høje-Taastrup"),
    ("2800", "Kongens Lyngby", "Lyngby-Taarbæk"),
]
STREETS = [
    "Vestergade",
    "Østergade",
    "Nørregade",
    "Søndergade",
    "Algade",
    "Jernbanegade",
    "Havnegade",
    "Industrivej",
    "Hovedgaden",
    "Skolevej",
    "Kirkevej",
    "Strandvejen",
    "Møllevej",
    "Bygaden",
    "Fabriksvej",
    "Engvej",
    "Parkvej",
    "Åboulevarden",
]
FOREIGN = [
    ("Müller Handels GmbH", "Hauptstraße 12", "20095", "Hamburg", "DE", "EUR"),
    ("Svensson Bygg AB", "Storgatan 4", "21122", "Malmö", "SE", "EUR"),
    ("Van Dijk Logistics B.V.", "Kade 18", "3011", "Rotterdam", "NL", "EUR"),
    ("Acme Supply Inc.", "200 Market Street", "94105", "San Francisco", "US", "USD"),
    ("Northwind Traders LLC", "45 Harbor Road", "02110", "Boston", "US", "USD"),
    ("Schneider & Co. KG", "Ringstraße 7", "80331", "München", "DE", "EUR"),
]
POSITIONS = ("Bogholder", "Økonomichef", "Indkøber", "Direktør", "Regnskabsassistent", "Kreditorbogholder")


def cvr_number(rng: random.Random) -> str:
    """A CVR number that passes mod-11 with weights 2,7,6,5,4,3,2,1."""
    weights = (2, 7, 6, 5, 4, 3, 2)
    while True:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(6)]
        check = (11 - sum(w * d for w, d in zip(weights, digits, strict=True)) % 11) % 11
        if check < 10:
            return "".join(map(str, digits)) + str(check)


def cvr_valid(cvr: str) -> bool:
    if len(cvr) != 8 or not cvr.isdigit() or cvr[0] == "0":
        return False
    return sum(w * int(d) for w, d in zip((2, 7, 6, 5, 4, 3, 2, 1), cvr, strict=True)) % 11 == 0


def ean_number(rng: random.Random) -> str:
    """A 13-digit EAN/GLN (public-sector 5798…) with a valid mod-10 check digit."""
    body = "5798" + "".join(str(rng.randint(0, 9)) for _ in range(8))
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def reference_data(c: sqlite3.Connection, today: dt.date) -> None:
    """Currencies, VAT codes, accounts, payment terms, groups, units, products, years, the accounting."""
    c.executemany("INSERT INTO currency (name, txt, rate) VALUES (?,?,?)", CURRENCIES)
    c.executemany(
        "INSERT INTO account (account_id_, name, type, ref_currency_name, is_monitored, is_dimension) "
        "VALUES (?,?,?,'DKK','NO','NO')",
        ACCOUNTS,
    )
    names = {a[0]: a[1] for a in ACCOUNTS}
    c.executemany(
        "INSERT INTO vatcode (name, type, percent, deduction_percent, "
        "account_id_, account_name, accountoff_id_, "
        "accountoff_name, txt) VALUES (?,?,?,?,?,?,?,?,?)",
        [(n, t, p, d, a, names.get(a, ""), o, names.get(o, ""), txt) for n, t, p, d, a, o, txt in VATCODES],
    )
    c.executemany("INSERT INTO payment (name, type, days) VALUES (?,?,?)", PAYMENTS)
    c.executemany("INSERT INTO debtor_group (name, account_id_, txt) VALUES (?,?,?)", GROUPS)
    c.executemany("INSERT INTO unit (name) VALUES (?)", [("stk",), ("timer",), ("kg",)])
    c.executemany(
        "INSERT INTO product_group (name, account_id_) VALUES (?, 1000)", [("Varer",), ("Ydelser",)]
    )
    c.executemany(
        "INSERT INTO product (product_id_, name, product_group_name, "
        "unit_name, price, cost_price, vatcode_name, "
        "is_stock) VALUES (?,?,?,?,?,?,'U25',?)",
        [
            (101 + i, n, g, u, p, p * 6 // 10, "YES" if g == "Varer" else "NO")
            for i, (n, g, u, p) in enumerate(PRODUCTS)
        ],
    )
    years = range(today.year - 2, today.year + 1)
    c.executemany(
        "INSERT INTO year (name, time_from, time_to, is_closed) VALUES (?,?,?,?)",
        [(str(y), f"{y}-01-01", f"{y}-12-31", "YES" if y < today.year - 1 else "NO") for y in years],
    )
    c.executemany(
        "INSERT INTO year_period (year_name, name, time_from, time_to) VALUES (?,?,?,?)",
        [
            (str(y), f"{y}-{m:02d}", f"{y}-{m:02d}-01", f"{y}-{m:02d}-{calendar.monthrange(y, m)[1]:02d}")
            for y in years
            for m in range(1, 13)
        ],
    )
    c.execute(
        "INSERT INTO accounting (name, vatno, address, zip, city, "
        "ref_country_name, ref_currency_name, email, "
        "phone) VALUES ('Sandbox Handel ApS', '29403473', 'Åboulevarden 1', '8000', 'Aarhus C', 'DK', 'DKK', "
        "'bogholderi@sandbox-handel.dk', '70201020')"
    )
    c.execute("INSERT INTO bank (name, reg_no, swift) VALUES ('Danske Bank', '3001', 'DABADKKK')")
    c.execute(
        "INSERT INTO accounting_bank (name, bank_name, account_id_, reg_no, account_no, iban, swift) VALUES "
        "('Driftskonto', 'Danske Bank', 5820, '3001', '0012345678', 'DK5030000012345678', 'DABADKKK')"
    )
    c.executemany(
        "INSERT INTO dimension (name, txt) VALUES (?,?)", [("Salg", "Salgsafdeling"), ("Service", "Service")]
    )
    c.execute("INSERT INTO location (name, txt) VALUES ('Hovedlager', 'Aarhus')")


def _due(terms: dict[str, tuple[str, int]], name: str, issued: dt.date) -> dt.date:
    kind, days = terms[name]
    if kind == "CURRENT_MONTH":
        return issued.replace(day=calendar.monthrange(issued.year, issued.month)[1]) + dt.timedelta(days=days)
    return issued + dt.timedelta(days=days)


def _slug(name: str) -> str:
    table = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "ü": "ue", "ö": "oe", "ä": "ae", "é": "e"})
    return "".join(ch for ch in name.lower().translate(table) if ch.isalnum())[:24] or "firma"


def _debtors(rng: random.Random, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        number = ledger.FIRST_DEBTOR_NO + i
        r = rng.random()
        group = (
            ("Offentlig", "Udland", "Udland", "Koncern")[i - 1]
            if 1 <= i <= 4
            else ("Erhverv" if r < 0.80 else "Offentlig" if r < 0.88 else "Udland" if r < 0.95 else "Koncern")
        )
        zip_code, city, municipality = rng.choice(CITIES)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        row: dict[str, Any] = {
            "module_id_": number,
            "module_group_name": group,
            "attention_name": f"{first} {last}",
            "attention_position": rng.choice(POSITIONS),
            "address": f"{rng.choice(STREETS)} {rng.randint(1, 180)}",
            "zip": zip_code,
            "city": city,
            "ref_country_name": "DK",
            "ref_currency_name": "DKK",
            "lang": "da",
            "vatcode_name": "U25",
            "ean": "",
            "credit_max": rng.randint(25, 500) * 100000,
            "payment_method": "BANK",
            "vatno": cvr_number(rng),
        }
        if group == "Erhverv":
            kind = rng.random()
            if kind < 0.4:
                name = f"{last} {rng.choice(TRADES)} ApS"
            elif kind < 0.7:
                name = f"{rng.choice(PREFIXES)} {rng.choice(TRADES)} A/S"
            else:
                name = f"{first} {last}s {rng.choice(TRADES)}"
            row["payment_name"] = rng.choice(
                [
                    "Netto 8 dage",
                    "Netto 14 dage",
                    "Netto 30 dage",
                    "Netto 30 dage",
                    "Løbende måned + 30 dage",
                    "Kontant",
                ]
            )
        elif group == "Offentlig":
            name = rng.choice(
                [
                    f"{municipality} Kommune",
                    f"{city} Skole",
                    f"{municipality} Kommune, Teknik og Miljø",
                    f"{city} Plejecenter",
                ]
            )
            row["ean"] = ean_number(rng)
            row["payment_name"] = "Løbende måned + 30 dage"
        elif group == "Koncern":
            name = f"{rng.choice(PREFIXES)} {rng.choice(TRADES)} Holding ApS"
            row["payment_name"] = "Netto 30 dage"
        else:
            fname, street, fzip, fcity, country, currency = FOREIGN[
                (i + (0 if i <= 4 else rng.randint(0, 5))) % 6
            ]
            if i == 3:
                fname, street, fzip, fcity, country, currency = FOREIGN[3]
            name = fname if i < len(FOREIGN) else f"{fname} ({fcity} {i})"
            row.update(
                address=street,
                zip=fzip,
                city=fcity,
                ref_country_name=country,
                ref_currency_name=currency,
                lang="en",
                vatcode_name="U0",
                vatno=f"{country}{rng.randint(10**8, 10**9 - 1)}",
            )
            row["payment_name"] = "Netto 30 dage"
        slug = _slug(name)
        row.update(
            name=name,
            email=f"bogholderi@{slug}.dk",
            email_invoice=f"faktura@{slug}.dk",
            email_statement=f"bogholderi@{slug}.dk",
            phone=f"{rng.randint(20, 99)}{rng.randint(0, 999999):06d}",
            attention_email=f"{_slug(first)}@{slug}.dk",
            attention_phone=f"{rng.randint(20, 99)}{rng.randint(0, 999999):06d}",
        )
        out.append(row)
    return out


def build(store: Store, today: dt.date, *, debtors: int, invoices: int, seed: int) -> dict[str, int]:
    """Replace the data of an empty store with a deterministic company. Returns row counts."""
    if debtors < 1 or invoices < 0:
        raise ValueError("need at least one debtor and a non-negative number of invoices")
    rng = random.Random(seed)
    rates = {name: rate for name, _, rate in CURRENCIES}
    terms = {name: (kind, days) for name, kind, days in PAYMENTS}
    with store.tx() as c:
        reference_data(c, today)
        people = _debtors(rng, debtors)
        columns = list(people[0])
        c.executemany(
            f"INSERT INTO debtor ({', '.join(columns)}, id) VALUES ({', '.join('?' * (len(columns) + 1))})",  # noqa: S608
            [(*(p[k] for k in columns), i + 1) for i, p in enumerate(people)],
        )
        c.executemany(
            "INSERT INTO contact (id, module_id, module_id_, time_created, name) VALUES (?,?,?,?,?)",
            [
                (
                    i + 1,
                    i + 1,
                    p["module_id_"],
                    (today - dt.timedelta(days=600)).isoformat(),
                    p["attention_name"],
                )
                for i, p in enumerate(people)
            ],
        )
        c.execute("UPDATE debtor SET contact_id = id")
        c.executemany(
            "INSERT INTO contact_user (contact_id, name, position, phone, email) VALUES (?,?,?,?,?)",
            [
                (
                    i + 1,
                    p["attention_name"],
                    p["attention_position"],
                    p["attention_phone"],
                    p["attention_email"],
                )
                for i, p in enumerate(people)
            ],
        )
        counts = _invoices(c, rng, people, invoices, today, rates, terms)
        ledger.recompute(c, None, today)
    counts.update(debtor=debtors, contact=debtors)
    return counts


# Payment behaviour, shared by the seed and by ``advance``: a daily chance that an open invoice is paid,
# by how late it is (days past due; negative = before due). Most customers pay within about a week of the due
# date; a slow tail pays months late; DISPUTED of the invoices are never paid (they age into the > 90 bucket).
HAZARD = ((-10, -1, 0.03), (0, 30, 0.10), (31, 90, 0.04), (91, 10_000, 0.01))
DISPUTED = 0.01
PARTIAL = 0.12  # share of payments that settle only part of an invoice


def daily_payment_chance(days_late: int) -> float:
    for first, last, chance in HAZARD:
        if first <= days_late <= last:
            return chance
    return 0.0


def payment_day(rng: random.Random, issued: dt.date, due: dt.date) -> dt.date | None:
    """When an invoice gets paid under ``HAZARD`` (None: never), one geometric draw per segment."""
    if rng.random() < DISPUTED:
        return None
    for first, last, chance in HAZARD:
        start = max(due + dt.timedelta(days=first), issued)
        end = due + dt.timedelta(days=last)
        if start > end:
            continue
        wait = int(math.log(1.0 - rng.random()) / math.log(1.0 - chance))
        if start + dt.timedelta(days=wait) <= end:
            return start + dt.timedelta(days=wait)
    return None


def _invoices(
    c: sqlite3.Connection,
    rng: random.Random,
    people: list[dict[str, Any]],
    m: int,
    today: dt.date,
    rates: dict[str, int],
    terms: dict[str, tuple[str, int]],
) -> dict[str, int]:
    n = len(people)
    weights = [rng.paretovariate(1.3) for _ in range(n)]
    owners = rng.choices(range(n), weights=weights, k=m)
    ages = [int(rng.random() * 548) for _ in range(m)]
    order = sorted(range(m), key=lambda k: (-ages[k], k))
    base = today.toordinal()
    invoices: list[list[Any]] = []  # [date, debtor index, lines, net, vat, due]
    lines_out: list[tuple] = []
    for k in order:
        who = owners[k]
        person = people[who]
        issued = dt.date.fromordinal(base - ages[k])
        percent = 0 if person["vatcode_name"] == "U0" else 2500
        divisor = rates[person["ref_currency_name"]]
        net = vat = 0
        lines = []
        for sort in range(rng.choice((1, 1, 2, 2, 3, 4))):
            pid = rng.randrange(len(PRODUCTS))
            pname, _g, unit, price = PRODUCTS[pid]
            if divisor != 10000:
                price = max(100, price * 10000 // divisor // 100 * 100)
            qty = (
                rng.choice((100, 100, 200, 300, 500, 1000, 50, 250))
                if unit != "stk"
                else rng.randint(1, 20) * 100
            )
            discount = 1000 if rng.random() < 0.05 else 0
            amount = ledger.line_amount(qty, price, discount)
            net += amount
            vat += ledger.percent_of(amount, percent)
            lines.append((101 + pid, pname, qty, unit, price, discount, person["vatcode_name"], amount, sort))
        invoices.append([issued, who, lines, net, vat, _due(terms, person["payment_name"], issued)])
    # credit notes: [date, invoice idx or -1, debtor, amount, vat]; payments: [date, debtor, amount, inv idx]
    notes: list[list[Any]] = []
    pays: list[list[Any]] = []
    matches: list[list[Any]] = []  # [date, invoice idx, amount, ("cn"|"pay", idx)]
    for idx, (issued, who, _lines, net, vat, due) in enumerate(invoices):
        total = net + vat
        remaining = total
        if rng.random() < 0.03:
            when = min(today, issued + dt.timedelta(days=rng.randint(1, 20)))
            amount = total if rng.random() < 0.5 else max(1, int(total * rng.uniform(0.1, 0.5)))
            credit_vat = amount * vat // total if total else 0
            notes.append([when, idx, who, amount, credit_vat])
            matches.append([when, idx, amount, ("cn", len(notes) - 1)])
            remaining -= amount
        if remaining <= 0:
            continue
        paid_from = issued
        for _instalment in range(3):  # a partial payment leaves a remainder that is paid later, or not
            when = payment_day(rng, paid_from, due)
            if when is None or when > today:
                break
            partial = rng.random() < PARTIAL and remaining > 100 and _instalment < 2
            if partial:
                amount = max(100, int(remaining * rng.uniform(0.2, 0.8)) // 100 * 100)
                amount = min(amount, remaining - 1)
            else:
                amount = remaining + (rng.randint(50, 500) * 100 if rng.random() < 0.005 else 0)
            pays.append([when, who, amount, idx])
            matches.append([when, idx, min(amount, remaining), ("pay", len(pays) - 1)])
            remaining -= min(amount, remaining)
            if remaining <= 0:
                break
            paid_from = when + dt.timedelta(days=1)
    for _ in range(max(1, n // 100)):  # payments on account (unallocated)
        pays.append(
            [
                dt.date.fromordinal(base - rng.randint(0, 120)),
                rng.randrange(n),
                rng.randint(5, 200) * 10000,
                -1,
            ]
        )
    for _ in range(max(1, m // 500)):  # free-standing credit notes (bonus, goodwill)
        amount = rng.randint(10, 500) * 1000
        who = rng.randrange(n)
        notes.append(
            [
                dt.date.fromordinal(base - rng.randint(0, 200)),
                -1,
                who,
                amount,
                0 if people[who]["vatcode_name"] == "U0" else amount // 5,
            ]
        )
    # numbers: invoices and credit notes share one series in date order; vouchers one series in date order
    docs = sorted(
        [(inv[0], 0, i) for i, inv in enumerate(invoices)] + [(nt[0], 1, i) for i, nt in enumerate(notes)]
    )
    inv_no = [0] * len(invoices)
    note_no = [0] * len(notes)
    for offset, (_d, kind, i) in enumerate(docs):
        (inv_no if kind == 0 else note_no)[i] = ledger.FIRST_DOCUMENT_NO + offset
    postings = sorted(
        [(inv[0], 0, i) for i, inv in enumerate(invoices)]
        + [(nt[0], 1, i) for i, nt in enumerate(notes)]
        + [(p[0], 2, i) for i, p in enumerate(pays)]
    )
    pay_row = [0] * len(pays)
    dam_rows = []
    for row_id, (when, kind, i) in enumerate(postings, start=1):
        if kind == 0:
            issued, who, _l, net, vat, due = invoices[i]
            person = people[who]
            signed, doc, time_due, txt = net + vat, inv_no[i], due.isoformat(), f"Faktura {inv_no[i]}"
        elif kind == 1:
            _w, inv, who, amount, _v = notes[i]
            person = people[who]
            signed, doc, time_due = -amount, note_no[i], ""
            txt = f"Kreditnota til faktura {inv_no[inv]}" if inv >= 0 else "Kreditnota (bonus)"
        else:
            _w, who, amount, _inv = pays[i]
            person = people[who]
            signed, doc, time_due, txt = -amount, 0, "", "Indbetaling"
            pay_row[i] = row_id
        rate = rates[person["ref_currency_name"]]
        dam_rows.append(
            (
                row_id,
                who + 1,
                person["module_id_"],
                ("INVOICE", "CREDITNOTE", "PAYMENT")[kind],
                doc,
                row_id,
                when.isoformat(),
                time_due,
                txt,
                ledger.dkk(signed, rate),
                person["ref_currency_name"],
                signed,
                rate,
            )
        )
    c.executemany(
        "INSERT INTO debtor_accounting_module (id, module_id, "
        "module_id_, type, invoice_id_, enc_id_, time, time_due,"
        " txt, amount, currency_name, currency_amount, currency_rate, "
        "is_booked) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,'YES')",
        dam_rows,
    )
    inv_rows = []
    for i in sorted(range(len(invoices)), key=lambda j: inv_no[j]):
        issued, who, lines, net, vat, due = invoices[i]
        person = people[who]
        number = inv_no[i]
        row_id = len(inv_rows) + 1
        inv_rows.append(
            (
                row_id,
                who + 1,
                person["module_id_"],
                issued.isoformat(),
                person["payment_name"],
                person["ref_currency_name"],
                rng.randint(1000, 99999) if rng.random() < 0.3 else 0,
                person["attention_name"],
                person["address"],
                person["zip"],
                person["city"],
                person["ref_country_name"],
                number,
                due.isoformat(),
                rates[person["ref_currency_name"]],
                f"+71<{number:015d}+{person['module_id_']:08d}<",
                vat,
                net + vat,
                f"https://dynaccount.sandbox/public/invoice/{number}/",
            )
        )
        lines_out.extend((row_id, *line) for line in lines)
    c.executemany(
        "INSERT INTO debtor_invoice (id, module_id, module_id_, "
        "time, payment_name, currency_name, order_id_, "
        "attention_name, address, zip, city, ref_country_name, "
        "invoice_id_, is_booked, time_due, currency_rate, "
        "fi_payment_id_, vat_amount, total_amount, public_url) VALUES "
        "(?,?,?,?,?,?,?,?,?,?,?,?,?,'YES',?,?,?,?,?,?)",
        inv_rows,
    )
    c.executemany(
        "INSERT INTO debtor_invoice_product (invoice_id, product_id_, "
        "txt, qty, unit_name, price, discount_percent, "
        "vatcode_name, amount, sort) VALUES (?,?,?,?,?,?,?,?,?,?)",
        lines_out,
    )
    note_rows = []
    note_lines = []
    for i in sorted(range(len(notes)), key=lambda j: note_no[j]):
        when, inv, who, amount, vat = notes[i]
        person = people[who]
        row_id = len(note_rows) + 1
        txt = f"Kreditnota til faktura {inv_no[inv]}" if inv >= 0 else "Kreditnota (bonus)"
        note_rows.append(
            (
                row_id,
                who + 1,
                person["module_id_"],
                note_no[i],
                inv_no[inv] if inv >= 0 else 0,
                when.isoformat(),
                person["ref_currency_name"],
                rates[person["ref_currency_name"]],
                vat,
                amount,
                txt,
            )
        )
        note_lines.append((row_id, txt, 100, amount - vat, person["vatcode_name"], amount - vat))
    c.executemany(
        "INSERT INTO debtor_creditnote (id, module_id, module_id_, "
        "invoice_id_, credit_invoice_id_, time, is_booked,"
        " currency_name, currency_rate, vat_amount, total_amount, txt) VALUES (?,?,?,?,?,?,'YES',?,?,?,?,?)",
        note_rows,
    )
    c.executemany(
        "INSERT INTO debtor_creditnote_product (creditnote_id, txt, qty, price, vatcode_name, amount) "
        "VALUES (?,?,?,?,?,?)",
        note_lines,
    )
    match_rows = []
    for when, inv, amount, (kind, src) in sorted(matches, key=lambda x: (x[0], x[1])):
        who = invoices[inv][1]
        person = people[who]
        rate = rates[person["ref_currency_name"]]
        match_rows.append(
            (
                who + 1,
                person["module_id_"],
                when.isoformat(),
                inv_no[inv],
                note_no[src] if kind == "cn" else 0,
                pay_row[src] if kind == "pay" else 0,
                amount,
                rate,
                ledger.dkk(amount, rate),
                "YES" if kind == "cn" else "NO",
            )
        )
    c.executemany(
        "INSERT INTO debtor_invoice_match (module_id, module_id_, "
        "time, invoice_id_, creditnote_id_, payment_id, "
        "amount, currency_rate, currency_amount, is_creditnote) VALUES (?,?,?,?,?,?,?,?,?,?)",
        match_rows,
    )
    for _ in range(min(3, n)):  # a few drafts, not yet booked
        person = people[rng.randrange(n)]
        row_id, _ = crud.put(
            c, "debtor_invoice", 0, [("module_id_", str(person["module_id_"])), ("txt", "Kladde")], today
        )
        crud.put(
            c,
            "debtor_invoice_product",
            0,
            [("invoice_id", str(row_id)), ("product_id_", "101"), ("qty", "2")],
            today,
        )
    return {
        "debtor_invoice": len(inv_rows),
        "debtor_invoice_product": len(lines_out),
        "debtor_creditnote": len(note_rows),
        "payments": len(pays),
        "debtor_invoice_match": len(match_rows),
        "debtor_accounting_module": len(dam_rows),
    }


def _new_invoice(c: sqlite3.Connection, rng: random.Random, module_no: int, day: dt.date) -> None:
    row_id, _ = crud.put(
        c, "debtor_invoice", 0, [("module_id_", str(module_no)), ("time", day.isoformat())], day
    )
    for _line in range(rng.randint(1, 3)):
        line = [
            ("invoice_id", str(row_id)),
            ("product_id_", str(rng.randint(101, 120))),
            ("qty", str(rng.randint(1, 10))),
        ]
        crud.put(c, "debtor_invoice_product", 0, line, day)
    ledger.book_invoice(c, row_id, day)


def _open_invoice(c: sqlite3.Connection, *, uncredited: bool = False) -> tuple[int, int, int] | None:
    return c.execute(
        "SELECT invoice_id_, module_id_, _remaining FROM debtor_invoice WHERE is_booked='YES' "
        "AND is_matched='NO' AND _remaining > 100 AND (_credited = 0 OR NOT ?) "
        "ORDER BY time DESC, id DESC LIMIT 1",
        (uncredited,),
    ).fetchone()


def advance(store: Store, today: dt.date, *, days: int, seed: int) -> dict[str, int]:
    """Live ``days`` days through the ledger: new invoices, partial and full payments, ≥1 credit note."""
    rng = random.Random(seed * 1_000_003 + today.toordinal())
    counts = {"invoices": 0, "payments": 0, "partial_payments": 0, "creditnotes": 0}
    with store.tx() as c:
        debtors = [r[0] for r in c.execute("SELECT module_id_ FROM debtor ORDER BY module_id_")]
        if not debtors:
            return counts
        booked = c.execute("SELECT count(*) FROM debtor_invoice WHERE is_booked='YES'").fetchone()[0]
        per_day = max(1, min(40, round(booked / 548)))
        day = today
        for offset in range(1, days + 1):
            day = today + dt.timedelta(days=offset)
            for _ in range(rng.randint(max(1, per_day // 2), per_day + per_day // 2)):
                _new_invoice(c, rng, rng.choice(debtors), day)
                counts["invoices"] += 1
            # each open invoice has the daily chance of HAZARD of being paid (in full, or in part)
            horizon = (day + dt.timedelta(days=10)).isoformat()
            due = c.execute(
                "SELECT invoice_id_, module_id_, _remaining, time_due FROM debtor_invoice "
                "WHERE is_booked='YES' AND is_matched='NO' AND time_due <= ? ORDER BY time_due, id",
                (horizon,),
            ).fetchall()
            for number, module_no, remaining, time_due in due:
                late = (day - dt.date.fromisoformat(time_due)).days
                chance = daily_payment_chance(late)
                r = rng.random()
                if r < chance:
                    ledger.book_payment(c, module_no, remaining, day, "Indbetaling", day, invoice_no=number)
                    counts["payments"] += 1
                elif r < chance * (1 + PARTIAL) and remaining > 100:
                    half = remaining // 2
                    ledger.book_payment(c, module_no, half, day, "Delbetaling", day, invoice_no=number)
                    counts["partial_payments"] += 1
            if rng.random() < 0.15:
                row = _open_invoice(c, uncredited=True)
                if row:
                    ledger.credit_invoice(c, row[0], max(1, row[2] // 4), day, "", day)
                    counts["creditnotes"] += 1
        # guarantee each kind of event at least once (on the last day), on the newest open invoice
        for kind in ("creditnotes", "partial_payments", "payments"):
            if counts[kind]:
                continue
            row = _open_invoice(c, uncredited=kind == "creditnotes")
            if row is None:
                _new_invoice(c, rng, rng.choice(debtors), day)
                counts["invoices"] += 1
                row = _open_invoice(c, uncredited=kind == "creditnotes")
            number, module_no, remaining = row
            if kind == "creditnotes":
                ledger.credit_invoice(c, number, max(1, remaining // 4), day, "", day)
            else:
                amount = remaining // 2 if kind == "partial_payments" else remaining
                text = "Delbetaling" if kind == "partial_payments" else "Indbetaling"
                ledger.book_payment(c, module_no, amount, day, text, day, invoice_no=number)
            counts[kind] += 1
    return counts

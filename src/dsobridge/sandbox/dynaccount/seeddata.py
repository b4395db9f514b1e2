"""The seeded company's fixed data: a Danish SME's reference data (currencies, the seed's VAT codes, a chart
of accounts, payment terms, groups, products, journals) and its customers (Danish names, addresses with real
post codes, valid CVR and EAN numbers, a few foreign customers in EUR/USD).
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import random
import sqlite3
from collections.abc import Iterator
from typing import Any

from dsobridge.sandbox.dynaccount import ledger, rules

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
# name, account, text, and the defaults of the group's new debtors: terms, VAT code, currency, language
GROUPS = [
    ("Erhverv", 1000, "Danske erhvervskunder", "Netto 14 dage", "U25", "DKK", "da"),
    ("Offentlig", 1000, "Offentlige kunder (EAN)", "Løbende måned + 30 dage", "U25", "DKK", "da"),
    ("Udland", 1010, "Udenlandske kunder", "Netto 30 dage", "U0", "EUR", "en"),
    ("Koncern", 1020, "Koncernforbundne selskaber", "Netto 30 dage", "U25", "DKK", "da"),
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


def ean_number(rng: random.Random) -> str:
    """A 13-digit EAN/GLN (public-sector 5798…) with a valid mod-10 check digit."""
    body = "5798" + "".join(str(rng.randint(0, 9)) for _ in range(8))
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


COMPANY = {
    "name": "Sandbox Handel ApS",
    "vatno": "29403473",
    "address": "Åboulevarden 1",
    "zip": "8000",
    "city": "Aarhus C",
    "ref_country_name": "DK",
    "ref_currency_name": "DKK",
    "email": "bogholderi@sandbox-handel.dk",
    "phone": "70201020",
}
# account number -> (module, stock, system): the debtor and creditor collective accounts, the stock account,
# and the accounts the system posts to by itself (VAT, debtors, creditors)
ACCOUNT_FLAGS = {
    5600: ("DEBTOR", "NO", "YES"),
    5700: ("", "YES", "NO"),
    6800: ("CREDITOR", "NO", "YES"),
    7100: ("", "NO", "YES"),
    7200: ("", "NO", "YES"),
    7300: ("", "NO", "YES"),
}
BANK = ("Danske Bank", 5820, "3001", "0012345678", "DK5030000012345678", "DABADKKK")
JOURNALS = (
    "Kassekladde",
    "Indbetalinger",
)  # the general journal, and the one customer payments are booked in
PRODUCT_WEIGHTS = {"Varer": 250}  # kg per unit (hundredths) of the goods; services weigh nothing


def reference_data(c: sqlite3.Connection, today: dt.date) -> None:
    """Currencies, VAT codes, accounts, payment terms, groups, units, products, years, journals, the bank."""
    c.executemany("INSERT INTO currency (name, txt, rate) VALUES (?,?,?)", CURRENCIES)
    c.executemany(
        "INSERT INTO account (account_id_, name, type, ref_currency_name, is_monitored, is_dimension, "
        "module, "
        "stock, system) VALUES (?,?,?,'DKK','NO','NO',?,?,?)",
        [
            (number, name, kind, *ACCOUNT_FLAGS.get(number, ("", "NO", "NO")))
            for number, name, kind in ACCOUNTS
        ],
    )
    names = {a[0]: a[1] for a in ACCOUNTS}
    c.executemany(
        "INSERT INTO vatcode (name, type, percent, deduction_percent, account_id_, account_name, "
        "accountoff_id_, "
        "accountoff_name, txt) VALUES (?,?,?,?,?,?,?,?,?)",
        [(n, t, p, d, a, names.get(a, ""), o, names.get(o, ""), txt) for n, t, p, d, a, o, txt in VATCODES],
    )
    c.executemany("INSERT INTO payment (name, type, days) VALUES (?,?,?)", PAYMENTS)
    c.executemany(
        "INSERT INTO debtor_group (name, account_id_, txt, payment_name, vatcode_name, ref_currency_name, "
        "payment_method, bank_name, lang) VALUES (?,?,?,?,?,?,'BANK_ACCOUNT',?,?)",
        [(*group, BANK[0], lang) for *group, lang in GROUPS],
    )
    c.executemany("INSERT INTO unit (name) VALUES (?)", [("stk",), ("timer",), ("kg",)])
    c.executemany(
        "INSERT INTO product_group (name, account_id_) VALUES (?, 1000)", [("Varer",), ("Ydelser",)]
    )
    c.executemany(
        "INSERT INTO product (product_id_, name, product_group_name, unit_name, price, price_cost, "
        "vatcode_name, "
        "weight) VALUES (?,?,?,?,?,?,'U25',?)",
        [
            (101 + i, n, g, u, p, p * 6 // 10, PRODUCT_WEIGHTS.get(g, 0))
            for i, (n, g, u, p) in enumerate(PRODUCTS)
        ],
    )
    c.executemany(
        "INSERT INTO stock_adjustment (product_id_, time, qty, txt, location_name) VALUES (?,?,?,?,?)",
        [
            (101 + i, (today - dt.timedelta(days=600)).isoformat(), 50000, "Primobeholdning", "Hovedlager")
            for i, (_n, g, _u, _p) in enumerate(PRODUCTS)
            if g == "Varer"
        ],
    )
    years = range(today.year - 2, today.year + 1)
    c.executemany(
        "INSERT INTO year (name, time_start, time_end, is_closed, enc_next_id_) VALUES (?,?,?,?,1)",
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
    c.execute("INSERT OR REPLACE INTO _meta (key, value) VALUES ('company', ?)", (json.dumps(COMPANY),))
    c.execute(
        "INSERT INTO bank (name, account_id_, account_id, reg_no, account_no, iban, swift) "
        "VALUES (?, ?, (SELECT id FROM account WHERE account_id_=?), ?, ?, ?, ?)",
        (BANK[0], BANK[1], BANK[1], *BANK[2:]),
    )
    c.executemany("INSERT INTO draft (name) VALUES (?)", [(name,) for name in JOURNALS])
    c.executemany(
        "INSERT INTO dimension (name, txt) VALUES (?,?)", [("Salg", "Salgsafdeling"), ("Service", "Service")]
    )
    c.execute("INSERT INTO location (name, txt) VALUES ('Hovedlager', 'Aarhus')")
    rules.refresh_bank_accounts(c)
    rules.refresh_products(c)


def company(c: sqlite3.Connection) -> dict[str, str]:
    """The accounting's own name, CVR and address (documents and reports print them)."""
    row = c.execute("SELECT value FROM _meta WHERE key='company'").fetchone()
    return json.loads(row[0]) if row else dict(COMPANY)


def _slug(name: str) -> str:
    table = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "ü": "ue", "ö": "oe", "ä": "ae", "é": "e"})
    return "".join(ch for ch in name.lower().translate(table) if ch.isalnum())[:24] or "firma"


def debtors(rng: random.Random, n: int, today: dt.date) -> Iterator[dict[str, Any]]:
    """``n`` customers, one row at a time (the columns of ``debtor``, without the derived balance and due)."""
    for i in range(n):
        yield _debtor(rng, i, today)


def _debtor(rng: random.Random, i: int, today: dt.date) -> dict[str, Any]:
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
        "ean_contact": "",
        "credit_max": rng.randint(25, 500) * 100000,
        "payment_method": "BANK_ACCOUNT",
        "bank_name": BANK[0],
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
        row["payment_name"] = rng.choice(ERHVERV_TERMS)
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
        row["ean_contact"] = row["attention_name"]
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
    row["vatno_validation"] = rules.vatno_validation(row["vatno"], row["ref_country_name"])
    row["time_vatno_validation"] = (today - dt.timedelta(days=600)).isoformat()
    return row


ERHVERV_TERMS = (
    "Netto 8 dage",
    "Netto 14 dage",
    "Netto 30 dage",
    "Netto 30 dage",
    "Løbende måned + 30 dage",
    "Kontant",
)

"""The PDFs are real documents: their text (read back from the page streams) carries the API's figures."""

from __future__ import annotations

import datetime as dt
import re
import zlib
from decimal import Decimal

from sandbox_dynaccount_kit import TODAY

from dsobridge.dynaccount import DynaccountClient

_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
_SHOW = re.compile(rb"\(((?:\\.|[^\\)])*)\)\s*Tj")


def pdf_text(data: bytes) -> list[str]:
    """The strings shown with ``Tj`` on every page, in order (core fonts: latin-1)."""
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    shown: list[str] = []
    for match in _STREAM.finditer(data):
        raw = match.group(1)
        try:
            raw = zlib.decompress(raw)
        except zlib.error:
            continue  # not a content stream (fonts and images are not FlateDecode text here)
        for text in _SHOW.findall(raw):
            shown.append(re.sub(rb"\\(.)", rb"\1", text).decode("latin-1"))
    return shown


def danish(amount: Decimal) -> str:
    whole, frac = f"{abs(amount):.2f}".split(".")
    return ("-" if amount < 0 else "") + f"{int(whole):,}".replace(",", ".") + "," + frac


def test_invoice_pdf_shows_the_invoice(client: DynaccountClient) -> None:
    invoice = client.get(
        "debtor_invoice", where={"is_booked": True}, order=["invoice_id_ desc"], limit=(0, 1)
    )[0]
    debtor = client.get("debtor", where={"module_id_": invoice["module_id_"]}, select=["name"])[0]
    lines = client.get(
        "debtor_invoice_product",
        where={"invoice_id": invoice["id"]},
        select=["txt", "total_amount", "vat_amount"],
    )
    text = pdf_text(client.document("invoice", invoice["invoice_id_"]))
    assert text[0] == f"Faktura {invoice['invoice_id_']}"
    assert debtor["name"] in text
    assert f"Dato {invoice['time']}   Forfald {invoice['time_due']}" in text
    for line in lines:
        position = text.index(line["txt"])
        assert danish(line["total_amount"] - line["vat_amount"]) in text[position : position + 4]  # net
    net = invoice["total_amount"] - invoice["vat_amount"]
    assert text[text.index("Subtotal") + 1] == danish(net)
    assert text[text.index("Moms") + 1] == danish(invoice["vat_amount"])
    assert text[text.index("Total") + 1] == danish(invoice["total_amount"])


def test_debtor_balance_report_agrees_with_the_api(client: DynaccountClient) -> None:
    until = {"time_from": dt.date(2000, 1, 1), "time_to": TODAY}  # balances as of the sandbox clock
    report = pdf_text(client.report("module_ledger_balance", "da", until))
    assert report[0] == f"Debitorsaldoliste 2000-01-01 - {TODAY}"
    debtors = [
        d for d in client.iter_rows("debtor", select=["module_id_", "name", "balance"]) if d["balance"]
    ]
    assert len(debtors) > 5
    for debtor in debtors:
        position = report.index(str(debtor["module_id_"]))
        assert report[position + 1] == debtor["name"]
        assert report[position + 3] == danish(debtor["balance"])


def test_ledger_cards_follow_the_period(client: DynaccountClient) -> None:
    quarter = pdf_text(
        client.report(
            "ledger_cards", "da", {"time_from": dt.date(2026, 1, 1), "time_to": dt.date(2026, 3, 31)}
        )
    )
    year = pdf_text(
        client.report(
            "ledger_cards", "da", {"time_from": dt.date(2026, 1, 1), "time_to": dt.date(2026, 10, 31)}
        )
    )
    assert quarter[0] == "Kontokort 2026-01-01 - 2026-03-31"
    assert year[0] == "Kontokort 2026-01-01 - 2026-10-31"
    dates = {t for t in quarter if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t)}
    assert dates and all("2026-01-01" <= d <= "2026-03-31" for d in dates)
    assert len(year) > len(quarter)

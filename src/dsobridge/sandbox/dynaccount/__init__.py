"""A faithful local emulator of the Dynaccount HTTP API (v5 and v7 layouts) over SQLite.

    sb = DynaccountSandbox(today=date(2026, 11, 20))
    sb.seed(debtors=300, invoices=5000, seed=1)
    client = DynaccountClient(sb.credentials.api_id, sb.credentials.api_key, sb.credentials.api_secret,
                              base_url="http://dynaccount.sandbox", transport=InProcessTransport(sb.app))

Layers (moto's split): ``wire``/``app`` (routing, auth, parsing, answers) → ``crud`` (the put round trip) and
``actions`` → ``rules`` (each table's defaults and derived fields), ``documents`` (lines and totals),
``bookkeeping`` (journals, vouchers, posting lines, book_draft), ``ledger`` (booking, matching, derived
receivables columns) → ``store`` (SQLite, pages at constant cost); ``schema`` declares the 64 tables with the
field names of ``dynaccount-fields.md``. ``seed``/``history`` build a company, ``payments`` books a customer
payment as a client would.
"""

from dsobridge.sandbox.dynaccount.faults import Faults
from dsobridge.sandbox.dynaccount.sandbox import Credentials, DynaccountSandbox
from dsobridge.sandbox.dynaccount.schema import TABLES
from dsobridge.sandbox.dynaccount.values import cvr_valid
from dsobridge.sandbox.dynaccount.webhooks import Subscription

__all__ = ["TABLES", "Credentials", "DynaccountSandbox", "Faults", "Subscription", "cvr_valid"]

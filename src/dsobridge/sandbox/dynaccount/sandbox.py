"""``DynaccountSandbox``: one emulated accounting — store, clock, credentials, faults, webhooks, ASGI app."""

from __future__ import annotations

import datetime as dt
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dsobridge.sandbox.dynaccount import ledger, seeddata
from dsobridge.sandbox.dynaccount import seed as seeding
from dsobridge.sandbox.dynaccount.actions import Actions
from dsobridge.sandbox.dynaccount.faults import Faults
from dsobridge.sandbox.dynaccount.store import Store
from dsobridge.sandbox.dynaccount.webhooks import Subscription, WebhookDispatcher


@dataclass(frozen=True, repr=False)
class Credentials:
    """API_ID, API_KEY and API_SECRET of the sandbox accounting. The repr hides key and secret."""

    api_id: int
    api_key: str
    api_secret: str

    def __repr__(self) -> str:
        return f"Credentials(api_id={self.api_id}, api_key='***', api_secret='***')"


class DynaccountSandbox:
    """A faithful local Dynaccount accounting. ``db_path=None`` keeps the database in memory.

    ``credentials`` default to a random API_KEY and API_SECRET per process (never written to the database:
    secrets stay out of files); the API_ID is kept in the database, it is not a secret.
    """

    def __init__(
        self,
        db_path: str | Path | None = None,
        *,
        today: dt.date | None = None,
        credentials: Credentials | None = None,
    ) -> None:
        self.store = Store(str(db_path) if db_path else None)
        self._faults = Faults()
        self.webhooks = WebhookDispatcher(lambda: self.credentials.api_secret, self._faults)
        self.actions = Actions(self.store)
        self.credentials = credentials or self._new_credentials()
        stored_today = self.store.get_meta("today")
        if today is not None:
            self._today = today
            self.store.set_meta("today", today.isoformat())
        else:
            self._today = dt.date.fromisoformat(stored_today) if stored_today else dt.date.today()
        if self.store.get_meta("reference") is None:
            with self.store.tx() as c:
                seeddata.reference_data(c, self._today)
            self.store.set_meta("reference", "1")
        self._app: Any = None

    def _new_credentials(self) -> Credentials:
        api_id = self.store.get_meta("api_id")
        if api_id is None:
            api_id = str(secrets.randbelow(900_000) + 100_000)
            self.store.set_meta("api_id", api_id)
        return Credentials(int(api_id), secrets.token_hex(20), secrets.token_hex(20))

    def __repr__(self) -> str:
        where = "memory" if self.store.path == ":memory:" else "file"
        return f"DynaccountSandbox(db={where}, today={self._today})"

    @property
    def app(self) -> Any:
        if self._app is None:
            from dsobridge.sandbox.dynaccount.app import SandboxApp

            self._app = SandboxApp(self)
        return self._app

    # -- clock ----------------------------------------------------------------------------------------------
    @property
    def today(self) -> dt.date:
        return self._today

    @today.setter
    def today(self, value: dt.date) -> None:
        """Moving the clock re-derives ``debtor.due`` (overdue depends on today)."""
        if not isinstance(value, dt.date):
            raise TypeError("today must be a datetime.date")
        self._today = value
        self.store.set_meta("today", value.isoformat())
        with self.store.tx() as c:
            ledger.recompute_due(c, value)

    # -- faults ---------------------------------------------------------------------------------------------
    @property
    def faults(self) -> Faults:
        return self._faults

    @faults.setter
    def faults(self, value: Faults | dict[str, Any]) -> None:
        settings = value.to_dict() if isinstance(value, Faults) else dict(value)
        settings.pop("seen", None)
        settings.pop("injected", None)
        self._faults.reset()
        self._faults.update(settings)

    # -- data -----------------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Empty the accounting (reference data kept), clear faults and webhooks."""
        self.store.wipe()
        with self.store.tx() as c:
            seeddata.reference_data(c, self._today)
        self._faults.reset()
        self.webhooks.clear()

    def seed(
        self, debtors: int = 300, invoices: int = 5000, seed: int = 1, *, open_share: float | None = None
    ) -> dict[str, int]:
        """Replace all data with a deterministic company; returns row counts per table.

        ``open_share`` (0..1) is the share of invoices still open today; None: the payment behaviour decides.
        """
        if debtors < 1 or invoices < 0:
            raise ValueError("need at least one debtor and a non-negative number of invoices")
        if open_share is not None and not 0 <= open_share <= 1:
            raise ValueError("open_share must be between 0 and 1")
        self.store.wipe()
        return seeding.build(
            self.store, self._today, debtors=debtors, invoices=invoices, seed=seed, open_share=open_share
        )

    def advance(self, days: int = 30, *, seed: int = 2) -> dict[str, int]:
        """Move the clock ``days`` ahead, day by day adding invoices, payments and credit notes."""
        counts = seeding.advance(self.store, self._today, days=days, seed=seed)
        self.today = self._today + dt.timedelta(days=days)
        return counts

    def subscribe_webhook(self, url: str, table: str, method: str) -> Subscription:
        return self.webhooks.subscribe(url, table, method)

    def open_item_count(self) -> int:
        """Open invoices, credit notes and payments on account (what a STOCK sync sends as items)."""
        with self.store.lock:
            return int(
                self.store.conn.execute(
                    "SELECT (SELECT count(*) FROM debtor_invoice WHERE is_booked='YES' AND "
                    "is_matched='NO') + "
                    "(SELECT count(*) FROM debtor_creditnote WHERE is_booked='YES' AND is_matched='NO') + "
                    "(SELECT count(*) FROM debtor_accounting_module WHERE type='PAYMENT' AND is_matched='NO')"
                ).fetchone()[0]
            )

    def check_invariant(self) -> list[dict[str, Any]]:
        """Debtors whose stored balance differs from the open-item rule (should always be empty)."""
        out = []
        with self.store.lock:
            c = self.store.conn
            for module_no, balance in c.execute("SELECT module_id_, balance FROM debtor").fetchall():
                expected = ledger.open_balance(c, module_no)
                if expected != balance:
                    out.append({"module_id_": module_no, "balance": balance, "expected": expected})
        return out

    def close(self) -> None:
        self.webhooks.close()
        self.store.close()

    def __enter__(self) -> DynaccountSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def temporary_db() -> Path:
    """A fresh database path in a temporary directory (for ``serve`` without ``--db``)."""
    return Path(tempfile.mkdtemp(prefix="dynaccount-sandbox-")) / "sandbox.sqlite3"

"""The sandbox's SQLite store: the schema shared with the ledger read side, accounts, the writer connection.

The import side writes (one connection, under ``write_lock``); readers open their own connections with
``connect()``. The database runs in WAL mode so that readers never wait for an import in progress.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import shutil
import sqlite3
import tempfile
import threading
from pathlib import Path

__all__ = ["SCHEMA", "Store"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS account (login TEXT PRIMARY KEY, password_hash TEXT NOT NULL, salt TEXT NOT NULL,
                      base_currency TEXT NOT NULL DEFAULT 'DKK');
CREATE TABLE IF NOT EXISTS client  (account TEXT NOT NULL, client_code TEXT NOT NULL,
                      business_name TEXT NOT NULL,
                      group_name TEXT, data TEXT NOT NULL, created_on TEXT NOT NULL, updated_on TEXT NOT NULL,
                      PRIMARY KEY (account, client_code));
CREATE TABLE IF NOT EXISTS item    (account TEXT NOT NULL, item_key TEXT NOT NULL, client_code TEXT NOT NULL,
                      item_type TEXT NOT NULL, item_number TEXT NOT NULL,
                      issue_date TEXT NOT NULL, due_date TEXT NOT NULL, currency TEXT NOT NULL,
                      amount_initial TEXT NOT NULL, amount_remaining TEXT NOT NULL,
                      payment_date TEXT, cleared_by TEXT, data TEXT NOT NULL,
                      created_on TEXT NOT NULL, updated_on TEXT NOT NULL,
                      PRIMARY KEY (account, item_key));
CREATE INDEX IF NOT EXISTS item_open ON item(account, payment_date, client_code);
CREATE TABLE IF NOT EXISTS item_event (id INTEGER PRIMARY KEY, account TEXT NOT NULL, item_key TEXT NOT NULL,
                      effective_date TEXT NOT NULL, kind TEXT NOT NULL,
                      amount_remaining TEXT NOT NULL, payment_date TEXT, import_id INTEGER);
CREATE INDEX IF NOT EXISTS item_event_key ON item_event(account, item_key, effective_date);
CREATE TABLE IF NOT EXISTS contact (account, client_code, contact_key, data TEXT, created_on, updated_on,
                      PRIMARY KEY (account, client_code, contact_key));
CREATE TABLE IF NOT EXISTS user    (account, user_key, data TEXT, created_on, updated_on,
                      PRIMARY KEY (account, user_key));
CREATE TABLE IF NOT EXISTS user_client (account, user_key, client_code,
                      PRIMARY KEY (account, user_key, client_code));
CREATE TABLE IF NOT EXISTS import  (id INTEGER PRIMARY KEY, account TEXT NOT NULL, file_type TEXT NOT NULL,
                      mode TEXT, channel TEXT NOT NULL, received_at TEXT NOT NULL, import_date TEXT NOT NULL,
                      report TEXT NOT NULL);
"""

_ITERATIONS = 20_000


def _hash_password(password: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), _ITERATIONS).hex()


class Store:
    """Owns the database file (a temporary one when ``path`` is None) and the single writer connection."""

    def __init__(self, path: str | Path | None = None) -> None:
        self._tmpdir: str | None = None
        if path is None:
            self._tmpdir = tempfile.mkdtemp(prefix="dsobridge-mydso-")
            path = Path(self._tmpdir) / "mydso.sqlite3"
        self.path = Path(path)
        self.write_lock = threading.RLock()
        self._verified: dict[str, bytes] = {}
        self.writer = self.connect()
        with self.write_lock:
            self.writer.execute("PRAGMA journal_mode=WAL")
            self.writer.executescript(SCHEMA)
        self._reader = self.connect()
        self._read_lock = threading.Lock()

    def connect(self) -> sqlite3.Connection:
        """A new connection (autocommit; begin transactions explicitly), usable from any thread."""
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=60)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=60000")
        return conn

    # -- accounts -------------------------------------------------------------------------------------
    def add_account(self, login: str, password: str, base_currency: str = "DKK") -> None:
        salt = secrets.token_hex(16)
        with self.write_lock:
            self.writer.execute(
                "INSERT INTO account (login, password_hash, salt, base_currency) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(login) DO UPDATE SET password_hash = excluded.password_hash, "
                "salt = excluded.salt, base_currency = excluded.base_currency",
                (login, _hash_password(password, salt), salt, base_currency.upper()),
            )
            self._verified.pop(login, None)

    def verify(self, login: str, password: str) -> bool:
        """Constant-time password check; a success is remembered (as a digest) to keep requests fast."""
        digest = hashlib.sha256(password.encode()).digest()
        known = self._verified.get(login)
        if known is not None and hmac.compare_digest(known, digest):
            return True
        with self._read_lock:
            row = self._reader.execute(
                "SELECT password_hash, salt FROM account WHERE login = ?", (login,)
            ).fetchone()
        if row is None:
            _hash_password(password, "00" * 16)  # same work whether or not the login exists
            return False
        if hmac.compare_digest(_hash_password(password, row[1]), row[0]):
            self._verified[login] = digest
            return True
        return False

    def base_currency(self, login: str) -> str:
        with self._read_lock:
            row = self._reader.execute(
                "SELECT base_currency FROM account WHERE login = ?", (login,)
            ).fetchone()
        return row[0] if row else "DKK"

    def close(self) -> None:
        with self.write_lock, self._read_lock:
            self.writer.close()
            self._reader.close()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    def __repr__(self) -> str:
        return f"Store(path={str(self.path)!r})"

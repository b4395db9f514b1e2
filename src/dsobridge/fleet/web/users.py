"""The dashboard's users: a name and an Argon2id hash of the password (argon2-cffi's defaults, RFC 9106).

Passwords are never stored, logged or shown; a hash is never shown either. Changing a user's password or
removing the user ends every session of theirs at its next request (``sessions_from``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from psycopg.rows import class_row

from dsobridge.fleet.db import FleetDatabase
from dsobridge.secret import Secret

MIN_PASSWORD = 12
_NAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,62}")
_HASHER = PasswordHasher()
# verified when the name is unknown, so that a wrong name costs the same time as a wrong password
_DUMMY_HASH = _HASHER.hash("not a password of anybody")


class UserError(Exception):
    """A user cannot be added, found or changed (exit code 2)."""


@dataclass(frozen=True)
class User:
    id: int
    name: str
    created_at: datetime
    sessions_from: datetime  # sessions opened before this moment are no longer valid
    last_login_at: datetime | None


def check_user_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise UserError(f"user name {name!r}: use 1-63 lower-case letters, digits, '.', '_', '@' and '-'")
    return name


def check_password(password: Secret) -> Secret:
    if len(password.reveal()) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters")
    return password


_SELECT = "SELECT id, name, created_at, sessions_from, last_login_at FROM web_users"


class UserStore:
    def __init__(self, db: FleetDatabase) -> None:
        self.db = db

    def list(self) -> list[User]:
        with self.db.pool.connection() as conn, conn.cursor(row_factory=class_row(User)) as cur:
            return cur.execute(_SELECT + " ORDER BY name").fetchall()

    def get(self, name: str) -> User | None:
        with self.db.pool.connection() as conn, conn.cursor(row_factory=class_row(User)) as cur:
            return cur.execute(_SELECT + " WHERE name = %s", (name,)).fetchone()

    def add(self, name: str, password: Secret) -> User:
        check_user_name(name)
        digest = _HASHER.hash(check_password(password).reveal())
        try:
            with self.db.pool.connection() as conn:
                conn.execute("INSERT INTO web_users (name, password_hash) VALUES (%s, %s)", (name, digest))
        except psycopg.errors.UniqueViolation:
            raise UserError(f"a user named {name!r} exists already") from None
        return self._found(name)

    def set_password(self, name: str, password: Secret) -> User:
        """A new password; the user's open sessions end."""
        digest = _HASHER.hash(check_password(password).reveal())
        with self.db.pool.connection() as conn:
            changed = conn.execute(
                "UPDATE web_users SET password_hash = %s, sessions_from = clock_timestamp() WHERE name = %s",
                (digest, name),
            ).rowcount
        if not changed:
            raise UserError(f"no user {name!r} (see `dsobridge fleet user list`)")
        return self._found(name)

    def remove(self, name: str) -> None:
        with self.db.pool.connection() as conn:
            if not conn.execute("DELETE FROM web_users WHERE name = %s", (name,)).rowcount:
                raise UserError(f"no user {name!r} (see `dsobridge fleet user list`)")

    def authenticate(self, name: str, password: str) -> User | None:
        """The user if the password is theirs (in about the same time whether or not the name exists)."""
        with self.db.pool.connection() as conn:
            row = conn.execute("SELECT password_hash FROM web_users WHERE name = %s", (name,)).fetchone()
        try:
            _HASHER.verify(row[0] if row else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        with self.db.pool.connection() as conn:
            if _HASHER.check_needs_rehash(row[0]):
                conn.execute(
                    "UPDATE web_users SET password_hash = %s WHERE name = %s", (_HASHER.hash(password), name)
                )
            conn.execute("UPDATE web_users SET last_login_at = now() WHERE name = %s", (name,))
        return self.get(name)

    def _found(self, name: str) -> User:
        user = self.get(name)
        if user is None:
            raise UserError(f"user {name!r} was removed meanwhile")
        return user

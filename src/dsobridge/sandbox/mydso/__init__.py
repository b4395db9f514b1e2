"""A local My DSO Manager: the import interface (HTTP, ``/apiPutFiles/``, FTP drop) over a SQLite ledger.

``MyDsoSandbox().app`` is a Starlette app; see ``docs/sandbox-mydso.md``.
"""

from dsobridge.sandbox.mydso.ftp import make_self_signed_certificate
from dsobridge.sandbox.mydso.importer import COLUMNS, run_import
from dsobridge.sandbox.mydso.options import (
    KINDS,
    ImportOptions,
    options_from_filename,
    options_from_query,
    text_encoding,
)
from dsobridge.sandbox.mydso.reader import (
    MAX_COLUMNS,
    MAX_FIELD_CHARS,
    MAX_SEPARATORS,
    ImportFailed,
    open_csv,
)
from dsobridge.sandbox.mydso.rows import MAX_REJECTED_ROWS
from dsobridge.sandbox.mydso.sandbox import DEMO_LOGIN, MyDsoSandbox
from dsobridge.sandbox.mydso.store import SCHEMA, Store
from dsobridge.sandbox.mydso.values import EARLIEST_DATE, LATEST_AS_OF, parse_amount, parse_date

__all__ = [
    "COLUMNS",
    "DEMO_LOGIN",
    "EARLIEST_DATE",
    "KINDS",
    "LATEST_AS_OF",
    "MAX_COLUMNS",
    "MAX_FIELD_CHARS",
    "MAX_REJECTED_ROWS",
    "MAX_SEPARATORS",
    "SCHEMA",
    "ImportFailed",
    "ImportOptions",
    "MyDsoSandbox",
    "Store",
    "make_self_signed_certificate",
    "open_csv",
    "options_from_filename",
    "options_from_query",
    "parse_amount",
    "parse_date",
    "run_import",
    "text_encoding",
]

"""A local My DSO Manager: the import interface (HTTP, ``/apiPutFiles/``, FTP drop) over a SQLite ledger.

``MyDsoSandbox().app`` is a Starlette app; see ``docs/sandbox-mydso.md``.
"""

from dsobridge.sandbox.mydso.ftp import make_self_signed_certificate
from dsobridge.sandbox.mydso.importer import COLUMNS, MAX_REJECTED_ROWS, run_import
from dsobridge.sandbox.mydso.options import KINDS, ImportOptions, options_from_filename, options_from_query
from dsobridge.sandbox.mydso.reader import ImportFailed, open_csv
from dsobridge.sandbox.mydso.sandbox import DEMO_LOGIN, MyDsoSandbox
from dsobridge.sandbox.mydso.store import SCHEMA, Store
from dsobridge.sandbox.mydso.values import parse_amount, parse_date

__all__ = [
    "COLUMNS",
    "DEMO_LOGIN",
    "KINDS",
    "MAX_REJECTED_ROWS",
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
]

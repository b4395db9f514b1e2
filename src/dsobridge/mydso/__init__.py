"""Client for the My DSO Manager import interface: typed rows, a streaming CSV writer, HTTP / asynchronous /
FTP delivery and import reports. See ``docs/mydso-client.md``.

    from dsobridge.mydso import Item, MyDsoClient
    with MyDsoClient(login, password) as client:
        report = client.import_file("items", rows, stock=True)
"""

from __future__ import annotations

from dsobridge.mydso.check import check_file, parse_amount, parse_date
from dsobridge.mydso.client import DEFAULT_BASE_URL, MyDsoClient
from dsobridge.mydso.csvfile import CsvLayout, CsvOptions, file_name, iter_csv, transliterate, write_csv
from dsobridge.mydso.errors import (
    AccessDenied,
    BadResponse,
    HeaderError,
    ImportRejected,
    ImportTimeout,
    MyDsoError,
    RowError,
    TransportError,
)
from dsobridge.mydso.ftp import FtpDrop
from dsobridge.mydso.report import ImportReport, RejectedRow, parse_report
from dsobridge.mydso.rows import COLUMNS, REQUIRED, Client, Contact, FileKind, Item, User

__all__ = [
    "COLUMNS",
    "DEFAULT_BASE_URL",
    "REQUIRED",
    "AccessDenied",
    "BadResponse",
    "Client",
    "Contact",
    "CsvLayout",
    "CsvOptions",
    "FileKind",
    "FtpDrop",
    "HeaderError",
    "ImportRejected",
    "ImportReport",
    "ImportTimeout",
    "Item",
    "MyDsoClient",
    "MyDsoError",
    "RejectedRow",
    "RowError",
    "TransportError",
    "User",
    "check_file",
    "file_name",
    "iter_csv",
    "parse_amount",
    "parse_date",
    "parse_report",
    "transliterate",
    "write_csv",
]

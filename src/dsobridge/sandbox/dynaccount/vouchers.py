"""``upload_voucher``: uploaded files kept as ``data_voucher`` rows (the content gunzipped, in ``_data``).

What the server derives from a file: its extension, SHA-1, sizes (``file_size`` stored, ``file_size_original``
as uploaded, gzipped), pages (a PDF's page objects; 1 for a picture), ``is_pic``, ``is_pdf_broken`` (a .pdf
that does not start with ``%PDF``). The sandbox has no OCR and makes no thumbnails: ``is_ocr_pending`` NO, the
``ocr_*`` fields empty, ``file_ext_thumb`` and ``dpi`` empty/0. ``from_email`` is the sender when it is an
e-mail address (the upload's ``from`` is "name or e-mail"); ``from_name`` keeps what was sent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
import re
import sqlite3
from pathlib import PurePosixPath

_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def describe(name: str, uploaded: bytes, content: bytes, label: str, sender: str, today: dt.date) -> dict:
    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    is_pdf = mime == "application/pdf"
    is_pic = mime.startswith("image/")
    return {
        "label": label,
        "from_name": sender,
        "from_email": sender if _EMAIL.match(sender) else "",
        "file_name": name,
        "file_ext": PurePosixPath(name).suffix.lstrip(".").lower(),
        "mime": mime,
        "file_sha1": hashlib.sha1(content, usedforsecurity=False).hexdigest(),
        "file_size": len(content),
        "file_size_original": len(uploaded),
        "num_pages": len(_PAGE.findall(content)) if is_pdf else int(is_pic),
        "is_pic": "YES" if is_pic else "NO",
        "is_pdf_broken": "YES" if is_pdf and not content.startswith(b"%PDF") else "NO",
        "time": today.isoformat(),
        "_data": sqlite3.Binary(content),
    }


def store(c: sqlite3.Connection, rows: list[dict]) -> list[int]:
    ids = []
    for row in rows:
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        cursor = c.execute(f"INSERT INTO data_voucher ({columns}) VALUES ({marks})", tuple(row.values()))  # noqa: S608
        ids.append(int(cursor.lastrowid or 0))
    return ids

"""verify_webhook: both URL variants, constant-time compare, which one matched."""

from __future__ import annotations

import hashlib

from dsobridge.dynaccount import verify_webhook

SECRET = "1a567002a392d359b7626237e7a4e25197482e3e"
BODY = b'{"method":"insert","table":"accounting","result":{"id":1}}'


def _sha1(text: bytes) -> str:
    return hashlib.sha1(text).hexdigest()


def test_without_scheme_like_the_seed() -> None:
    x_hash = _sha1(b"yourserver.com/url-to-your-webhook/" + BODY + SECRET.encode())
    assert verify_webhook("yourserver.com/url-to-your-webhook/", BODY, x_hash, SECRET) == "without_scheme"
    assert (
        verify_webhook("https://yourserver.com/url-to-your-webhook/", BODY, x_hash, SECRET)
        == "without_scheme"
    )
    assert verify_webhook("https://yourserver.com/url-to-your-webhook/", BODY, x_hash.upper(), SECRET) == (
        "without_scheme"
    )


def test_with_scheme() -> None:
    x_hash = _sha1(b"https://yourserver.com/hook/" + BODY + SECRET.encode())
    assert verify_webhook("https://yourserver.com/hook/", BODY, x_hash, SECRET) == "with_scheme"
    assert verify_webhook("yourserver.com/hook/", BODY, x_hash, SECRET) == "with_scheme"
    http_hash = _sha1(b"http://yourserver.com/hook/" + BODY + SECRET.encode())
    assert verify_webhook("yourserver.com/hook/", BODY, http_hash, SECRET) == "with_scheme"
    assert verify_webhook("https://yourserver.com/hook/", BODY, http_hash, SECRET) is None


def test_rejections() -> None:
    x_hash = _sha1(b"yourserver.com/hook/" + BODY + SECRET.encode())
    assert verify_webhook("yourserver.com/hook/", BODY + b" ", x_hash, SECRET) is None
    assert verify_webhook("yourserver.com/hook/", BODY, x_hash, "0" * 40) is None
    assert verify_webhook("yourserver.com/other/", BODY, x_hash, SECRET) is None
    assert verify_webhook("yourserver.com/hook/", BODY, None, SECRET) is None
    assert verify_webhook("yourserver.com/hook/", BODY, "", SECRET) is None
    assert verify_webhook("yourserver.com/hook/", BODY, "zz", SECRET) is None
    assert verify_webhook("yourserver.com/hook/", BODY, "é" * 40, SECRET) is None

"""HTTPS for the local sandboxes (``serve --tls``): a generated self-signed certificate, served by uvicorn.

The certificate is its own CA: a client trusts it with ``SSL_CERT_FILE=<CA_FILE>`` in its environment (the
default https path of httpx2, httpx, requests and curl read it), or explicitly with
``ssl.create_default_context(cafile=CA_FILE)``. It names ``localhost``, ``127.0.0.1`` and ``::1`` (and the
listening host, when it is another name or address). The certificate reuses the My DSO sandbox FTPS drop's
``make_self_signed_certificate``; the key file is mode 0600 and is never printed.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dsobridge.sandbox.keepalive import KeepAlive
from dsobridge.sandbox.loopback import LoopbackServer

_LOOPBACK = ("localhost", "127.0.0.1", "::1")
_ANY = ("0.0.0.0", "::", "")


def make_certificate(directory: str | Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """Write a self-signed certificate (the CA file) and its key for the loopback names and ``host``."""
    from dsobridge.sandbox.mydso.ftp import make_self_signed_certificate

    hosts = tuple(dict.fromkeys((*_LOOPBACK, *(() if host in _ANY else (host,)))))
    return make_self_signed_certificate(directory, hosts=hosts)


class TlsServer(LoopbackServer):
    """``LoopbackServer`` speaking HTTPS (same protocol, same connection count).

    Without ``certfile`` a self-signed certificate is made in a private temporary directory, removed by
    ``stop``; ``certfile`` is then the CA file a client trusts.
    """

    def __init__(
        self,
        app: Callable[..., Any],
        *,
        certfile: str | Path | None = None,
        keyfile: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        keepalive: KeepAlive | None = KeepAlive(),
    ) -> None:
        super().__init__(app, host=host, port=port, keepalive=keepalive)
        self._own_dir: str | None = None
        if certfile is None:
            self._own_dir = tempfile.mkdtemp(prefix="dsobridge-tls-")
            certfile, keyfile = make_certificate(self._own_dir, host)
        self.certfile = Path(certfile)
        self.keyfile = Path(keyfile or certfile)

    def stop(self) -> None:
        super().stop()
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)
            self._own_dir = None

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def _server_options(self) -> dict[str, Any]:
        return {**super()._server_options(), "ssl_certfile": self.certfile, "ssl_keyfile": self.keyfile}

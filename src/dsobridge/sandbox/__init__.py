"""Local, faithful emulators of Dynaccount and My DSO Manager.

Two ways to reach a sandbox app from a client:

- ``InProcessTransport(app)``: an httpx2 transport that calls the ASGI app in this process (no socket);
- ``LoopbackServer(app)``: the app under uvicorn on a 127.0.0.1 port, in a background thread, counting the
  TCP connections it accepts and enforcing the real server's connection limits (``KeepAlive``: 5 s idle,
  100 responses per connection);
- ``TlsServer(app)``: the same over HTTPS with a generated self-signed certificate (``serve --tls``).
"""

from dsobridge.sandbox.inprocess import InProcessTransport
from dsobridge.sandbox.keepalive import KeepAlive, KeepAliveMiddleware
from dsobridge.sandbox.loopback import LoopbackServer
from dsobridge.sandbox.tls import TlsServer

__all__ = ["InProcessTransport", "KeepAlive", "KeepAliveMiddleware", "LoopbackServer", "TlsServer"]

"""Local, faithful emulators of Dynaccount and My DSO Manager.

Two ways to reach a sandbox app from a client:

- ``InProcessTransport(app)``: an httpx2 transport that calls the ASGI app in this process (no socket);
- ``LoopbackServer(app)``: the app under uvicorn on a 127.0.0.1 port, in a background thread, counting the
  TCP connections it accepts.
"""

from dsobridge.sandbox.inprocess import InProcessTransport
from dsobridge.sandbox.loopback import LoopbackServer

__all__ = ["InProcessTransport", "LoopbackServer"]

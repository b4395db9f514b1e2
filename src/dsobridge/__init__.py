"""dsobridge: Dynaccount receivables delivered to My DSO Manager, with local sandboxes of both services.

Packages, one concern each (see docs/architecture.md):

- ``dsobridge.dynaccount``  — client for the Dynaccount HTTP API (v5 wire format, v7 too)
- ``dsobridge.mydso``       — client for the My DSO Manager import interface (CSV, HTTP, async, FTP)
- ``dsobridge.receivables`` — pure domain: open items, aging, DSO
- ``dsobridge.sync``        — extract → map → state → deliver
- ``dsobridge.sandbox``     — local emulators of both services
"""

__version__ = "0.1.0"

__all__ = ["__version__"]

"""A Python client for the Dynaccount HTTP API (v5 as in the seed, v6/v7 with ``X-Hash``).

with DynaccountClient(api_id, api_key, api_secret) as client:
    for row in client.iter_rows("debtor_invoice", where={"is_booked": True}):
        ...
"""

from dsobridge.dynaccount.client import DynaccountClient
from dsobridge.dynaccount.errors import (
    AuthError,
    BadResponse,
    DynaccountError,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
    ValidationError,
)
from dsobridge.dynaccount.retry import RetryPolicy
from dsobridge.dynaccount.webhook import verify_webhook

__all__ = [
    "AuthError",
    "BadResponse",
    "DynaccountClient",
    "DynaccountError",
    "NotFound",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "ValidationError",
    "verify_webhook",
]

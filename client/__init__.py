"""Tenure's typed async Python client (SPEC §6): the subscription operations over Temporal,
and the entitlement reads over HTTP (`EntitlementsClient`)."""

from client.entitlements import EntitlementsClient
from client.tenure import TenureClient, TenureError

__all__ = ["EntitlementsClient", "TenureClient", "TenureError"]

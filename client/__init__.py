"""Tenure's typed async Python client (SPEC §6): the subscription operations over Temporal."""

from client.tenure import TenureClient, TenureError

__all__ = ["TenureClient", "TenureError"]

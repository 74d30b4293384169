"""Connecting to Temporal the same way in every process (worker, API, CLI)."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig

from config.settings import Settings


def connect_config(settings: Settings) -> dict[str, Any]:
    """Build `Client.connect` keyword arguments.

    The standard `temporalio.envconfig` sources (TEMPORAL_PROFILE, temporal.toml,
    TEMPORAL_TLS_* certificates) are read first; our typed settings then win for the
    address, namespace, API key and TLS switch, so one table documents them.

    Args:
        settings: the process settings.

    Returns:
        Keyword arguments for `temporalio.client.Client.connect`.
    """
    config: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    config["target_host"] = settings.temporal_address
    config["namespace"] = settings.temporal_namespace
    if settings.temporal_api_key is not None:
        config["api_key"] = settings.temporal_api_key.get_secret_value()
        config.setdefault("tls", True)
    if settings.temporal_tls is not None:
        # Keep a TLSConfig from envconfig (client certificates) when TLS is forced on.
        config["tls"] = (config.get("tls") or True) if settings.temporal_tls else False
    return config


async def connect(settings: Settings) -> Client:
    """Connect with the pydantic data converter (dates and models round-trip)."""
    return await Client.connect(**connect_config(settings), data_converter=pydantic_data_converter)

"""Connecting to Temporal the same way in every process (worker, API, CLI)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from temporalio.client import Client, Interceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime

from config.codec import EncryptionCodec, PayloadKey, PayloadKeyError, parse_keys
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


def payload_keys(settings: Settings) -> tuple[PayloadKey, ...]:
    """The payload keys from TENURE_PAYLOAD_KEYS or TENURE_PAYLOAD_KEYS_FILE (empty: none).

    Raises:
        PayloadKeyError: both are set, the file cannot be read, or a key is malformed.
    """
    if settings.payload_keys is not None and settings.payload_keys_file is not None:
        raise PayloadKeyError("set TENURE_PAYLOAD_KEYS or TENURE_PAYLOAD_KEYS_FILE, not both")
    if settings.payload_keys is not None:
        return parse_keys(settings.payload_keys.get_secret_value())
    if settings.payload_keys_file is not None:
        try:
            text = settings.payload_keys_file.read_text()
        except OSError as error:
            raise PayloadKeyError(f"TENURE_PAYLOAD_KEYS_FILE: {error.strerror}: {error.filename}") from None
        keys = parse_keys(text)
        if not keys:
            raise PayloadKeyError(f"TENURE_PAYLOAD_KEYS_FILE: no key in {settings.payload_keys_file}")
        return keys
    return ()


def data_converter_for(keys: tuple[PayloadKey, ...]) -> DataConverter:
    """The pydantic converter, encrypting with ``keys`` when there are any.

    With a codec, failure messages and stack traces move into the encoded attributes too:
    a refusal's message can name a member, and Temporal stores failures outside payloads.
    """
    if not keys:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def data_converter(settings: Settings) -> DataConverter:
    """The one data converter of every client and worker of a deployment (see `connect`)."""
    return data_converter_for(payload_keys(settings))


async def connect(
    settings: Settings,
    interceptors: Sequence[Interceptor] | None = None,
    runtime: Runtime | None = None,
) -> Client:
    """Connect with the deployment's data converter (pydantic models; encrypted when keyed).

    Args:
        settings: the process settings.
        interceptors: client interceptors (workers built on the client inherit those that are
            worker interceptors too); None: tracing's, none while tracing is off.
        runtime: carries the worker's SDK metrics exporter (None: the SDK's default runtime).
    """
    if interceptors is None:
        from observability import tracing

        interceptors = tracing.interceptors()
    return await Client.connect(
        **connect_config(settings),
        data_converter=data_converter(settings),
        interceptors=interceptors,
        runtime=runtime,
    )

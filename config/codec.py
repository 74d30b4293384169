"""Encrypted payloads: an AES-256-GCM `PayloadCodec` with named keys for rotation.

Every payload a client or worker writes to Temporal (workflow inputs and results, Update
arguments, activity inputs and results, memos, failure messages) is serialized whole and
encrypted with the *active* key; its metadata keeps only ``encoding: binary/encrypted`` and
the key's id. Decoding picks the key by that id, so a key stays listed until no history
still needs it, and a payload without the encrypted encoding (written before encryption
was switched on) passes through unchanged.

Keys are written ``id:base64key`` (32 random bytes, standard or URL-safe base64), several
separated by commas or new lines; the first one encrypts. Workflows never import this
module: the codec runs outside the sandbox, in the data converter of clients and workers.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # the GCM standard nonce; random per payload (2^32 payloads per key is safe)
_TAG_BYTES = 16
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class PayloadKeyError(ValueError):
    """The configured keys are malformed (the message never contains key material)."""


class PayloadDecodeError(ValueError):
    """An encrypted payload cannot be decrypted with the configured keys.

    Attributes:
        key_id: the key id the payload names ("" if none).
    """

    def __init__(self, key_id: str, message: str) -> None:
        super().__init__(message)
        self.key_id = key_id


@dataclass(frozen=True)
class PayloadKey:
    """One named AES-256 key."""

    key_id: str
    secret: bytes = field(repr=False)


def _decoded_key(key_id: str, text: str) -> bytes:
    # URL-safe base64 is accepted too: keys are often pasted from tools that emit it.
    normal = text.strip().replace("-", "+").replace("_", "/")
    try:
        secret = base64.b64decode(normal, validate=True)
    except (binascii.Error, ValueError):
        raise PayloadKeyError(f"payload key {key_id!r} is not valid base64") from None
    if len(secret) != KEY_BYTES:
        raise PayloadKeyError(
            f"payload key {key_id!r} is {len(secret)} bytes; AES-256 needs {KEY_BYTES} "
            "(`tenure keys generate` makes one)"
        )
    return secret


def parse_keys(text: str) -> tuple[PayloadKey, ...]:
    """Read ``id:base64key`` entries separated by commas or new lines (``#`` starts a comment).

    Raises:
        PayloadKeyError: an entry is malformed, a key is not 32 bytes, or an id repeats.
    """
    keys: list[PayloadKey] = []
    lines = (line.partition("#")[0] for line in text.splitlines())
    for entry in (part.strip() for line in lines for part in line.split(",")):
        if not entry:
            continue
        key_id, colon, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not colon or not _KEY_ID.fullmatch(key_id):
            raise PayloadKeyError(
                "a payload key is written `id:base64key` with an id of letters, digits, '.', '_' or '-'"
            )
        if any(k.key_id == key_id for k in keys):
            raise PayloadKeyError(f"payload key id {key_id!r} is listed twice")
        keys.append(PayloadKey(key_id, _decoded_key(key_id, encoded)))
    return tuple(keys)


def generate_key(key_id: str) -> str:
    """A new random key written ``id:base64key``.

    Raises:
        PayloadKeyError: ``key_id`` is not a valid id.
    """
    if not _KEY_ID.fullmatch(key_id):
        raise PayloadKeyError("a key id is 1-64 letters, digits, '.', '_' or '-'")
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def ensure_key_file(path: Path, key_id: str = "dev") -> Path:
    """Create ``path`` with one new key (mode 0600) unless it exists; the existing file is
    reused as it is, so histories written by earlier runs stay readable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes racing never both write (one would lose its key).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(fd, "w") as out:
        out.write("# Payload keys of `tenure dev` (first one encrypts). Keep this file.\n")
        out.write(generate_key(key_id) + "\n")
    return path


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole serialized payloads, with the key id in the metadata."""

    def __init__(self, keys: Sequence[PayloadKey]) -> None:
        """Encrypt with ``keys[0]``; decrypt with whichever key a payload names.

        Raises:
            PayloadKeyError: no key is given.
        """
        if not keys:
            raise PayloadKeyError("the encryption codec needs at least one key")
        self.active = keys[0].key_id
        self._ciphers = {k.key_id: AESGCM(k.secret) for k in keys}

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The ids of the keys held, the active one first."""
        return tuple(self._ciphers)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encrypt every payload with the active key."""
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt encrypted payloads; others pass through unchanged.

        Raises:
            PayloadDecodeError: a payload names a key not held, or does not decrypt.
        """
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        """One payload, encrypted with the active key (a fresh random nonce each time)."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.active].encrypt(nonce, payload.SerializeToString(), None)
        metadata = {"encoding": ENCODING, KEY_ID_METADATA: self.active.encode()}
        return Payload(metadata=metadata, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        """One payload in clear: decrypted if encrypted, else the payload itself."""
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode("utf-8", "replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadDecodeError(
                key_id,
                f"payload encrypted with key {key_id!r}, which is not configured "
                f"(held: {', '.join(self._ciphers)}); add it back to TENURE_PAYLOAD_KEYS",
            )
        data = payload.data
        if len(data) < NONCE_BYTES + _TAG_BYTES:
            raise PayloadDecodeError(key_id, f"payload encrypted with key {key_id!r} is truncated")
        try:
            clear = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], None)
        except InvalidTag:
            raise PayloadDecodeError(
                key_id,
                f"payload does not decrypt with key {key_id!r} (another key under the same id, "
                "or altered data)",
            ) from None
        return Payload.FromString(clear)

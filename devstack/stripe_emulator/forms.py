"""Decode Stripe's form encoding (bracket notation) into nested values.

The Stripe SDK flattens nested parameters into ``application/x-www-form-urlencoded``
pairs: ``metadata[plan]=pro``, ``invoice_settings[default_payment_method]=pm_x``,
``expand[0]=customer``, ``period[start]=1700000000``. This module turns such pairs
back into nested dicts and lists. Values stay strings: only the endpoint knows
whether ``"12"`` is an amount or a description, so coercion happens there.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl

FormValue = str | dict[str, "FormValue"] | list["FormValue"]
FormDict = dict[str, FormValue]

# Intermediate tree: lists are built as dicts keyed by index first, because the
# indices can arrive in any order (and ``key[]`` means "next index").
_Tree = dict[str, "_Node"]
_Node = str | _Tree


class FormDecodeError(ValueError):
    """A key is malformed, or a key is used both as a scalar and as a container."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"Invalid form key {key!r}: {reason}")
        self.key = key
        self.reason = reason


def split_key(key: str) -> list[str]:
    """Split ``a[b][0][]`` into ``["a", "b", "0", ""]``.

    Args:
        key: one form key as it appears on the wire (already percent-decoded).

    Returns:
        The path segments; an empty segment stands for ``[]`` (append).

    Raises:
        FormDecodeError: brackets are unbalanced, or text follows a ``]``.
    """
    head, sep, rest = key.partition("[")
    if not head:
        raise FormDecodeError(key, "empty name")
    if "]" in head:
        raise FormDecodeError(key, "']' without '['")
    segments = [head]
    if not sep:
        return segments
    rest = "[" + rest
    while rest:
        if not rest.startswith("["):
            raise FormDecodeError(key, "text after ']'")
        end = rest.find("]")
        if end < 0:
            raise FormDecodeError(key, "unclosed '['")
        segment = rest[1:end]
        if "[" in segment:
            raise FormDecodeError(key, "nested '[' inside brackets")
        segments.append(segment)
        rest = rest[end + 1 :]
    return segments


def _insert(tree: _Tree, key: str, segments: list[str], value: str) -> None:
    node = tree
    for position, segment in enumerate(segments):
        last = position == len(segments) - 1
        name = str(len(node)) if segment == "" else segment
        if last:
            if isinstance(node.get(name), dict):
                raise FormDecodeError(key, "used both as a value and as a container")
            # A repeated scalar key keeps the last value, like most form parsers.
            node[name] = value
            return
        child = node.get(name)
        if child is None:
            child = {}
            node[name] = child
        elif isinstance(child, str):
            raise FormDecodeError(key, "used both as a value and as a container")
        node = child


def _finish(node: _Node) -> FormValue:
    if isinstance(node, str):
        return node
    if node and all(k.isdigit() for k in node):
        # Stripe always indexes arrays (``items[0][price]``); order by the index.
        return [_finish(node[k]) for k in sorted(node, key=int)]
    return {k: _finish(v) for k, v in node.items()}


def decode_pairs(pairs: Iterable[tuple[str, str]]) -> FormDict:
    """Build nested params from already-split ``(key, value)`` pairs.

    Args:
        pairs: decoded key/value pairs in wire order.

    Returns:
        A dict whose values are strings, dicts, or lists (for indexed keys).

    Raises:
        FormDecodeError: a key is malformed or conflicts with another key.
    """
    tree: _Tree = {}
    for key, value in pairs:
        _insert(tree, key, split_key(key), value)
    return {k: _finish(v) for k, v in tree.items()}


def decode_form(data: bytes | str) -> FormDict:
    """Decode a urlencoded body or query string into nested params.

    Args:
        data: the raw body (bytes, UTF-8) or a query string.

    Returns:
        Nested params; blank values are kept (``""`` means "unset" to Stripe).

    Raises:
        FormDecodeError: a key is malformed or conflicts with another key.
    """
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False)
    return decode_pairs(pairs)

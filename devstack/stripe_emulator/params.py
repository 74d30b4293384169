"""Typed access to decoded request parameters, with Stripe's validation errors.

Every accessor raises the same 400 real Stripe sends (``parameter_missing``,
``parameter_invalid_integer``...), so handlers stay short and honest.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from enum import Enum

from devstack.stripe_emulator.errors import invalid_request, unknown_parameter
from devstack.stripe_emulator.forms import FormDict, FormValue

# Parameters every endpoint accepts. ``expand`` is accepted and ignored: the
# emulator never expands (documented in docs/stripe-emulator.md).
_ALWAYS_ALLOWED = frozenset({"expand"})


class Unset(Enum):
    """Marker for "the caller sent an empty string", Stripe's way to clear a field."""

    CLEAR = "clear"


CLEAR = Unset.CLEAR


class Params:
    """Decoded parameters of one request."""

    def __init__(self, data: FormDict) -> None:
        """Wrap decoded params.

        Args:
            data: the nested params from `decode_form`.
        """
        self.data = data

    def only(self, *allowed: str) -> None:
        """Reject parameters the endpoint does not take, as Stripe does.

        Args:
            *allowed: the accepted top-level parameter names.

        Raises:
            StripeError: 400 ``parameter_unknown`` for the first stray name.
        """
        for name in self.data:
            if name not in allowed and name not in _ALWAYS_ALLOWED:
                raise unknown_parameter(name)

    def has(self, name: str) -> bool:
        """Tell whether the parameter was sent at all."""
        return name in self.data

    def raw(self, name: str) -> FormValue | None:
        """Return the parameter as decoded, or None."""
        return self.data.get(name)

    def string(self, name: str, *, required: bool = False) -> str | None:
        """Return a string parameter.

        Args:
            name: parameter name.
            required: raise ``parameter_missing`` when absent or empty.

        Returns:
            The value, or None when absent.

        Raises:
            StripeError: missing, or not a scalar.
        """
        value = self.data.get(name)
        if value is None or (required and value == ""):
            if required:
                raise invalid_request(
                    f"Missing required param: {name}.", param=name, code="parameter_missing"
                )
            return None
        if not isinstance(value, str):
            raise invalid_request(f"Invalid string: {name} must be a string.", param=name)
        return value

    def integer(self, name: str, *, required: bool = False, minimum: int | None = None) -> int | None:
        """Return an integer parameter (Stripe amounts are integers).

        Args:
            name: parameter name.
            required: raise ``parameter_missing`` when absent.
            minimum: smallest accepted value.

        Returns:
            The value, or None when absent.

        Raises:
            StripeError: missing, not an integer, or below ``minimum``.
        """
        text = self.string(name, required=required)
        if text is None or text == "":
            return None
        try:
            value = int(text)
        except ValueError:
            raise invalid_request(
                f"Invalid integer: {text}", param=name, code="parameter_invalid_integer"
            ) from None
        if minimum is not None and value < minimum:
            raise invalid_request(
                f"This value must be greater than or equal to {minimum}.",
                param=name,
                code="parameter_invalid_integer",
            )
        return value

    def decimal(self, name: str, *, signed: bool = False) -> Decimal | None:
        """Return a decimal-string parameter such as ``unit_amount_decimal``.

        Args:
            signed: accept a negative value (an invoice item's unit amount may be one:
                a credit reduces the amount due).
        """
        text = self.string(name)
        if text is None or text == "":
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise invalid_request(f"Invalid decimal: {text}", param=name) from None
        if not value.is_finite() or (value < 0 and not signed):
            raise invalid_request(f"Invalid decimal: {text}", param=name)
        return value

    def boolean(self, name: str) -> bool | None:
        """Return a boolean parameter (the SDK sends ``true``/``false``)."""
        text = self.string(name)
        if text is None:
            return None
        if text not in ("true", "false"):
            raise invalid_request(f"Invalid boolean: {text}", param=name)
        return text == "true"

    def choice(self, name: str, options: tuple[str, ...], *, required: bool = False) -> str | None:
        """Return a string parameter restricted to ``options``."""
        value = self.string(name, required=required)
        if value is not None and value not in options:
            raise invalid_request(f"Invalid {name}: must be one of {', '.join(options)}", param=name)
        return value

    def hash(self, name: str) -> FormDict | Unset | None:
        """Return a hash parameter, `CLEAR` for ``""``, or None when absent."""
        value = self.data.get(name)
        if value is None:
            return None
        if value == "":
            return CLEAR
        if not isinstance(value, dict):
            raise invalid_request(f"Invalid object: {name} must be a hash.", param=name)
        return value

    def str_list(self, name: str) -> list[str] | None:
        """Return an array-of-strings parameter (``types[0]=a``)."""
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid_request(f"Invalid array: {name} must be a list of strings.", param=name)
        return [v for v in value if isinstance(v, str)]

    def metadata(self, name: str = "metadata") -> dict[str, str] | Unset | None:
        """Return metadata updates: key -> value, ``""`` values mean "delete the key"."""
        value = self.hash(name)
        if value is None or isinstance(value, Unset):
            return value
        out: dict[str, str] = {}
        for key, item in value.items():
            if not isinstance(item, str):
                raise invalid_request(
                    f"Invalid metadata value for {key}: must be a string.", param=f"{name}[{key}]"
                )
            out[key] = item
        return out


def apply_metadata(current: dict[str, str], update: dict[str, str] | Unset | None) -> dict[str, str]:
    """Merge a metadata update the way Stripe does.

    Args:
        current: the stored metadata.
        update: new keys (an empty value deletes the key), `CLEAR` to drop all, or None.

    Returns:
        The new metadata dict.
    """
    if update is None:
        return dict(current)
    if isinstance(update, Unset):
        return {}
    merged = dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def sub_str(data: FormDict, key: str, param: str) -> str | None:
    """Read a string field of a hash parameter (``address[city]``).

    Args:
        data: the decoded hash.
        key: the field inside it.
        param: the full parameter name for the error message.

    Returns:
        The value, or None when absent or empty.

    Raises:
        StripeError: the field is not a string.
    """
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid_request(f"Invalid string: {param}", param=param)
    return value

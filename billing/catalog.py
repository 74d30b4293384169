"""The plan catalog: validated TOML data (SPEC §1). No price, limit or rule lives in code.

A catalog is loaded and validated once per process (`load_catalog`) and passed around as
a value. An invalid catalog fails with `CatalogError` whose message names the TOML key
path, e.g. ``plans.business.max_seats: Input should be a valid integer``.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    ValidationError,
    model_validator,
)

from billing.errors import (
    CATALOG_INVALID,
    PLAN_NOT_FOUND,
    SEAT_TYPE_NOT_FOUND,
    DomainError,
)
from billing.retention import FreeLimits, RetentionPolicy
from billing.usage import CreditRules

SHIPPED_CATALOGS = ("seats", "credits")

Timing = Literal["immediate", "period_end"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Plan(_Strict):
    """One plan of the grid. ``None`` limits mean unlimited.

    Attributes:
        code: the plan's key in ``[plans]`` (filled in from the key).
        rank: orders plans: a higher rank is an upgrade.
        self_serve: False for sales-assisted plans ("contact sales"): set by contract only.
        price: recurring price per month, minor units (0 for free or contract plans).
        included_credits: credits included per month.
        overage_rate: minor units per credit beyond the included credits.
        paid_users: most members with a paid role (credits catalog).
        max_members: most active members (free plan).
        max_seats: most paid seats held at once (seats catalog).
    """

    code: str
    name: str
    rank: int
    self_serve: bool
    price: NonNegativeInt = 0
    included_credits: NonNegativeInt = 0
    overage_rate: NonNegativeInt = 0
    paid_users: NonNegativeInt | None = None
    max_members: PositiveInt | None = None
    max_seats: NonNegativeInt | None = None
    connectors: NonNegativeInt | None = None
    spaces: NonNegativeInt | None = None
    annual_contract: bool = False
    features: tuple[str, ...] = ()


class SeatType(_Strict):
    """A seat type; a price of 0 means the seat is free (the default for every member)."""

    code: str
    name: str
    monthly_price: NonNegativeInt
    annual_monthly_equivalent: NonNegativeInt = 0
    annual_price: NonNegativeInt = 0
    monthly_credits: NonNegativeInt = 0

    @property
    def paid(self) -> bool:
        return self.monthly_price > 0


class ChangeTiming(_Strict):
    """When a self-serve change takes effect (plan or seat type)."""

    upgrade: Timing = "immediate"
    downgrade: Timing = "period_end"


class Dunning(_Strict):
    """Collection of unpaid invoices (SPEC §3)."""

    retry_days: tuple[PositiveInt, ...] = (3, 5, 7)
    overdue_after_days: PositiveInt = 7
    final_failure: Literal["revert_to_free", "past_due"]


class Roles(_Strict):
    """Member roles. ``billing_admin`` roles may change billing; ``paid`` roles use a seat."""

    all: tuple[str, ...]
    billing_admin: tuple[str, ...]
    paid: tuple[str, ...] = ()
    default: str


class Tax(_Strict):
    """Countries where a business purchase requires a tax id (ISO 3166 alpha-2)."""

    business_tax_id_required_countries: tuple[str, ...] = ()


class Catalog(_Strict):
    """A validated plan catalog (the whole TOML file).

    ``invoice_draft_minutes``: how long an in-advance invoice stays a draft that later
    charges of the same period amend before it is posted (0: posted at once); see
    `billing.invoicing.drafts`.
    """

    name: str
    currency: str = Field(pattern=r"^[a-z]{3}$")
    invoicing: Literal["in_advance", "in_arrears"]
    period: Literal["anchored_monthly", "calendar_month"]
    trial_days: NonNegativeInt = 0
    invoice_draft_minutes: NonNegativeInt = 60
    free_plan: str | None = None
    seat_plan: str | None = None
    plans: dict[str, Plan]
    seat_types: dict[str, SeatType] = Field(default_factory=dict)
    plan_change: ChangeTiming = ChangeTiming()
    seat_change: ChangeTiming = ChangeTiming()
    serverless_minute_price: NonNegativeInt = 0
    roles: Roles
    credit_rules: CreditRules = CreditRules()
    dunning: Dunning
    retention: RetentionPolicy = RetentionPolicy()
    tax: Tax = Tax()

    @model_validator(mode="before")
    @classmethod
    def _codes_from_keys(cls, data: object) -> object:
        # The TOML key is the code; writing it twice would invite disagreement.
        if isinstance(data, dict):
            for table in ("plans", "seat_types"):
                entries = data.get(table)
                if isinstance(entries, dict):
                    data[table] = {
                        key: {"code": key, **value} if isinstance(value, dict) else value
                        for key, value in entries.items()
                    }
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Catalog:
        for field in ("free_plan", "seat_plan"):
            code = getattr(self, field)
            if code is not None and code not in self.plans:
                raise ValueError(f"{field} {code!r} is not a plan")
        ranks = [plan.rank for plan in self.plans.values()]
        if len(set(ranks)) != len(ranks):
            raise ValueError("plan ranks must be unique")
        if self.seat_types and self.seat_plan is None:
            raise ValueError("a catalog with seat types needs seat_plan")
        unknown = set(self.roles.billing_admin) | set(self.roles.paid) | {self.roles.default}
        if not unknown <= set(self.roles.all):
            raise ValueError(f"roles {sorted(unknown - set(self.roles.all))} are not in roles.all")
        return self

    @property
    def seat_based(self) -> bool:
        """Whether paid seats (not roles) decide the charge: the seats catalog."""
        return bool(self.seat_types)

    def free_limits(self) -> FreeLimits:
        """The limits of the free plan a workspace reverts to (none without a free plan)."""
        if self.free_plan is None:
            return FreeLimits()
        free = self.plans[self.free_plan]
        return FreeLimits(
            max_members=free.max_members, max_connectors=free.connectors, max_spaces=free.spaces
        )

    def plan(self, code: str) -> Plan:
        """The plan ``code``, or `DomainError` ``plan_not_found``."""
        try:
            return self.plans[code]
        except KeyError:
            raise DomainError(
                PLAN_NOT_FOUND, f"no plan {code!r}", {"plan": code, "known": sorted(self.plans)}
            ) from None

    def seat_type(self, code: str) -> SeatType:
        """The seat type ``code``, or `DomainError` ``seat_type_not_found``."""
        try:
            return self.seat_types[code]
        except KeyError:
            raise DomainError(
                SEAT_TYPE_NOT_FOUND,
                f"no seat type {code!r}",
                {"seat_type": code, "known": sorted(self.seat_types)},
            ) from None


class CatalogError(DomainError):
    """The catalog file is missing, not TOML, or breaks the schema."""

    def __init__(self, message: str, details: dict[str, object] | None = None) -> None:
        super().__init__(CATALOG_INVALID, message, details)


def parse_catalog(data: dict[str, object], source: str = "<catalog>") -> Catalog:
    """Validate decoded TOML data.

    Raises:
        CatalogError: naming the first bad key path and the reason; all problems are in
            ``details["errors"]``.
    """
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(part) for part in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()
        ]
        raise CatalogError(f"{source}: {problems[0]}", {"source": source, "errors": problems}) from exc


def load_catalog(name_or_path: str | Path) -> Catalog:
    """Load a shipped catalog by name (``seats``, ``credits``) or a TOML file by path.

    Raises:
        CatalogError: the file is missing, is not valid TOML, or is not a valid catalog.
    """
    if isinstance(name_or_path, str) and name_or_path in SHIPPED_CATALOGS:
        source = f"catalogs/{name_or_path}.toml"
        text = resources.files("catalogs").joinpath(f"{name_or_path}.toml").read_text("utf-8")
    else:
        path = Path(name_or_path)
        source = str(path)
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise CatalogError(f"{source}: cannot read catalog ({exc.strerror})") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{source}: not valid TOML ({exc})") from exc
    return parse_catalog(data, source)


_SHARED: dict[str, Catalog] = {}
_SHARED_LIMIT = 64


def shared_catalog(catalog: Catalog) -> Catalog:
    """One instance per distinct catalog content, for a process holding many subscriptions.

    Each subscription workflow receives its catalog as a value (so repricing never reaches
    a live subscription by accident); thousands of cached workflows would otherwise hold
    thousands of equal copies. Catalogs are frozen, so sharing one instance is safe.
    """
    key = catalog.model_dump_json()
    found = _SHARED.get(key)
    if found is not None:
        return found
    if len(_SHARED) >= _SHARED_LIMIT:
        _SHARED.clear()  # a process sees a handful of catalogs; this only bounds a pathology
    _SHARED[key] = catalog
    return catalog

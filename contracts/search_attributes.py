"""The search attributes each subscription workflow publishes (`workflows.publish`) and the
CLI lists by (`tenure list`): one definition for the writer and its readers."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

STATUS = SearchAttributeKey.for_keyword("TenureStatus")
PLAN = SearchAttributeKey.for_keyword("TenurePlan")
CATALOG = SearchAttributeKey.for_keyword("TenureCatalog")
PAID_SEATS = SearchAttributeKey.for_int("TenurePaidSeats")
PERIOD_END = SearchAttributeKey.for_datetime("TenurePeriodEnd")
CANCEL_AT = SearchAttributeKey.for_datetime("TenureCancelAt")

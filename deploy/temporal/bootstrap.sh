#!/bin/sh
# Wait for Temporal, create the namespace (30-day retention) and Tenure's search attributes.
# Idempotent: re-running with the same types succeeds. One --type per --name (they pair by position).
set -eu
: "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:=tenure}"
attempts=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  attempts=$((attempts + 1))
  [ "$attempts" -ge 60 ] && { echo "Temporal is not healthy after 60 attempts" >&2; exit 1; }
  sleep 2
done
temporal operator namespace describe -n "$NAMESPACE" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 ||
  temporal operator namespace create -n "$NAMESPACE" --retention 30d --address "$TEMPORAL_ADDRESS"
temporal operator search-attribute create -n "$NAMESPACE" --address "$TEMPORAL_ADDRESS" \
  --name TenureStatus --type Keyword --name TenurePlan --type Keyword \
  --name TenureCatalog --type Keyword --name TenurePaidSeats --type Int \
  --name TenurePeriodEnd --type Datetime --name TenureCancelAt --type Datetime

#!/bin/sh
# Make this release's worker build the current version of the Tenure Worker Deployment, once
# its workers poll (the server refuses a version without pollers). docker compose rolls out
# all at once; production ramps by hand (docs/upgrading.md). Idempotent.
set -eu
: "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:=tenure}" "${DEPLOYMENT:=tenure}" "${BUILD_ID:?}"
attempts=0
until temporal worker deployment set-current-version --yes --address "$TEMPORAL_ADDRESS" \
  -n "$NAMESPACE" --deployment-name "$DEPLOYMENT" --build-id "$BUILD_ID" >/dev/null 2>&1; do
  attempts=$((attempts + 1))
  [ "$attempts" -ge 90 ] && { echo "no worker of build $BUILD_ID polled within 3 minutes" >&2; exit 1; }
  sleep 2
done
echo "build $BUILD_ID is the current version of $DEPLOYMENT"

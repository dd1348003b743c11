#!/usr/bin/env bash
# Builds the TypeScript clients (docs/sdk.md):
#   clients/build.sh          # SDK: generate from proto/, build, unit tests; web app: tests, build
#                             # into clients/web/dist; browser tests: install their packages, unit-test their helpers
#   clients/build.sh --app    # only what `hearth dev` needs: generated types and the web app
# Uses `npm ci` (package-lock.json) so every build gets the same packages.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

app_only=false
case "${1:-}" in
    "") ;;
    --app) app_only=true ;;
    *) echo "usage: $0 [--app]" >&2; exit 2 ;;
esac

# shellcheck source=../deploy/client-tools.sh
source ../deploy/client-tools.sh

npm_ci() { npm ci --no-audit --no-fund --loglevel=error; }

echo "==> clients/sdk"
(cd sdk && npm_ci && npm run generate && if $app_only; then :; else npm test; fi)

echo "==> clients/web"
(cd web && npm_ci && if $app_only; then :; else npm test; fi && npm run build)

if ! $app_only; then
    echo "==> clients/e2e"
    (cd e2e && npm_ci && npm test)
fi

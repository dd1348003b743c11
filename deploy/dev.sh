#!/usr/bin/env bash
# The README's first command: ensure Postgres, Redis and NATS (JetStream) run
# on loopback (installing them from Debian's packages when missing), build
# the web app, then build Hearth and run every role locally with `hearth dev`, which migrates
# and prints the URLs to open. Extra arguments go to `hearth dev`.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/local-services.sh
# The reference web app, served by the gateway at / (docs/sdk.md).
clients/build.sh --app
export HEARTH_GATEWAY__WEB_ROOT="${HEARTH_GATEWAY__WEB_ROOT:-$PWD/clients/web/dist}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/hearth-target}"
exec cargo run --locked -p hearth -- dev "$@"

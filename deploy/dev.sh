#!/usr/bin/env bash
# The README's first command: ensure Postgres, Redis and NATS (JetStream) run
# on loopback (installing them from Debian's packages when missing), then
# build Hearth and run every role locally with `hearth dev`, which migrates
# and prints the URLs to open. Extra arguments go to `hearth dev`.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/local-services.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/hearth-target}"
exec cargo run --locked -p hearth -- dev "$@"

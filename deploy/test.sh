#!/usr/bin/env bash
# The one command that runs Hearth's whole test suite:
#   deploy/test.sh [extra cargo test args, e.g. -p hearth-identity or -- --nocapture]
# Makes sure PostgreSQL, Redis and NATS (JetStream) are up, then runs cargo test.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

deploy/local-services.sh

# Shared target directory outside the clone, so CI and fresh clones reuse the developers' build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/hearth-target}"

cargo test --workspace --locked "$@"

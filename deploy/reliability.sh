#!/usr/bin/env bash
# Hearth's reliability and security suite in full (docs/reliability.md):
#   deploy/reliability.sh
# Environment: FUZZ_SECONDS (per fuzz target, default 300), SOAK_MINUTES (default 10).
#
# deploy/test.sh runs the fast variants of all of it on every CI run; this
# runs the long ones: the fault tests with more load and longer outages, the
# fuzzers for minutes instead of seconds, and the 10-minute soak.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

deploy/local-services.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/hearth-target}"

section() { echo; echo "==> $*"; }

section "fault tests (long variants)"
HEARTH_FAULTS_FULL=1 cargo test --locked -p hearth-tests --test faults -- --nocapture --test-threads 1

section "authorization matrix, token attacks, auth rate limits, secrets in logs"
cargo test --locked -p hearth-tests --test it -- authz tokens auth_limits
cargo test --locked -p hearth-tests --test secrets

section "fuzzing (${FUZZ_SECONDS:=300} s per target)"
FUZZ_SECONDS="$FUZZ_SECONDS" deploy/fuzz.sh

section "soak (${SOAK_MINUTES:=10} min, release build)"
cargo run --release --locked -p hearth-tests --bin bench -- soak --minutes "$SOAK_MINUTES"

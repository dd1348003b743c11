#!/usr/bin/env bash
# The one command that runs Hearth's whole test suite:
#   deploy/test.sh [extra cargo test args, e.g. -p hearth-identity or -- --nocapture]
# Makes sure PostgreSQL, Redis and NATS (JetStream) are up, checks the Helm chart, smoke-runs
# the fuzzers and builds and unit-tests the TypeScript clients (only without arguments), then
# runs cargo test (which includes the browser tests).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

deploy/local-services.sh

# Shared target directory outside the clone, so CI and fresh clones reuse the developers' build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/hearth-target}"

# Real IPTV playlists and guides (../shared/data beside the project; see its README). A clone
# made elsewhere (CI clones into a scratch folder) finds them beside the repository it came from.
if [[ -z "${HEARTH_SHARED_DATA:-}" ]]; then
    origin="$(git config --get remote.origin.url 2>/dev/null || true)"
    for candidate in ../shared/data "${origin:+$origin/../shared/data}"; do
        if [[ -n "$candidate" && -d "$candidate" ]]; then
            HEARTH_SHARED_DATA="$(cd "$candidate" && pwd)"
            export HEARTH_SHARED_DATA
            break
        fi
    done
fi
echo "shared test data: ${HEARTH_SHARED_DATA:-absent (tests that need it skip, or fail under CI=true)}"

# The whole suite (no arguments) also checks the Helm chart: lint, render, validate, golden
# files (deploy/helm-check.sh installs helm and kubernetes-validate on first use).
# It also smoke-runs every fuzz target for 20 s (deploy/fuzz.sh; docs/reliability.md).
# It also builds the TypeScript SDK and the web app and runs their unit tests
# (clients/build.sh); the browser tests then run in cargo test (tests/browser) against
# real Hearth in Debian's Chromium.
if (($# == 0)); then
    deploy/helm-check.sh
    deploy/fuzz.sh --smoke
    # shellcheck source=client-tools.sh
    source deploy/client-tools.sh browser
    clients/build.sh
fi

cargo test --workspace --locked "$@"

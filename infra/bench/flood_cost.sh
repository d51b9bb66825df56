#!/usr/bin/env bash
# What a flood costs in DynamoDB (functions/alerter/examples/flood_cost.rs): a 10,000-request
# flood of one (token, source) pair and 1,000 distinct pairs through the real
# decoy handler and the alerter's handler, against a moto server this script
# starts on a free loopback port (checked to be ours by its pid) and stops by
# that pid. Prints calls per operation, write units per hit (computed from
# item sizes by DynamoDB's rules) and the cost per million hits.
#
#   infra/bench/flood_cost.sh            # a debug build (enough: moto is the bottleneck)
#   infra/bench/flood_cost.sh --release
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=.venv-tools
LOG_DIR=${LOG_DIR:-target/bench-logs}
say() { echo "flood_cost: $*" >&2; }
die() { say "$*"; exit 1; }
[ -x "$VENV/bin/moto_server" ] || die "no $VENV/bin/moto_server: run scripts/test.sh tools first"
# shellcheck source=infra/moto.sh
source infra/moto.sh
need_moto
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
cargo run -q "$@" -p alerter --example flood_cost

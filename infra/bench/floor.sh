#!/usr/bin/env bash
# Does the timing floor hold for hits under load? p99 of hits against p99 of
# misses while another client floods (issue 14), in two places:
#
# 1. `honeytoken serve` with its default floor (20 ms) and full durability:
#    wrk floods hits on 32 connections while two probes (4 connections each,
#    at the same time) send hits and misses.
# 2. The decoy Lambda binary under the runtime emulator on moto, floor 40 ms,
#    every DynamoDB PutItem held 150 ms by a proxy, hits and misses
#    alternating while a second instance takes a flood of hits
#    (`tests/e2e_faults.rs`, the ignored `floor_p99_…` measurement).
#
#   infra/bench/floor.sh [DURATION_SECONDS] [EMULATOR_ROUNDS]
#
# Needs wrk (Debian: apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DUR=${1:-10}
ROUNDS=${2:-200}
# shellcheck source=lib.sh
source "$ROOT/infra/bench/lib.sh"
need_wrk
build_lean


HT=target/release/honeytoken
TOKEN=$($HT --data-dir "$WORK/ht" mint --kind key --prefix acme_live_ --label floor --format json \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
MISS="acme_live_$(python3 -c 'import random,string; print("".join(random.choice(string.ascii_letters+string.digits) for _ in range(32)))')"
P=$(free_port)
$HT --data-dir "$WORK/ht" serve --addr 127.0.0.1:$P 2>"$WORK/serve.log" >/dev/null &
PIDS+=($!); wait_port $P; check_owner $P ${PIDS[-1]}

p99() { awk '$1=="50%" {p50=$2} $1=="99%" {p99=$2} END {print p50, p99}' "$1"; }
wrk -t1 -c32 -d$((DUR + 4))s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P/v1/users" > "$WORK/flood.out" &
FLOOD=$!
sleep 2
wrk -t1 -c4 -d${DUR}s --latency -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P/v1/users" > "$WORK/hit.out" &
H=$!
wrk -t1 -c4 -d${DUR}s --latency -H "Authorization: Bearer $MISS" "http://127.0.0.1:$P/v1/users" > "$WORK/miss.out"
wait $H $FLOOD
read -r H50 H99 <<<"$(p99 "$WORK/hit.out")"
read -r M50 M99 <<<"$(p99 "$WORK/miss.out")"
echo "machine: $(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | xargs)"
echo
echo "serve, default floor, while wrk floods hits on 32 connections ($(awk '/Requests\/sec/ {print $2}' "$WORK/flood.out") hits/s):"
echo
echo "| probe (4 connections) | p50 | p99 |"
echo "|---|---:|---:|"
echo "| hit | $H50 | $H99 |"
echo "| miss | $M50 | $M99 |"
echo

# 2. Under the runtime emulator, on moto (the test command's own start/stop).
# shellcheck source=../../scripts/test.sh
source "$ROOT/scripts/test.sh"
step_tools >/dev/null
trap 'stop_moto; cleanup' EXIT
need_moto >/dev/null
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
cargo build -q -p decoy
FLOOR_ROUNDS=$ROUNDS cargo test -q --test e2e_faults floor_p99 -- --ignored --nocapture 2>&1 \
  | sed -n '/^floor under the runtime emulator/,/^miss p50/p'

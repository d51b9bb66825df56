#!/usr/bin/env bash
# Throughput of `honeytoken serve` against the usual Python decoy, side by side
# in one run on the same machine. Needs wrk (Debian: apt-get install wrk).
#
#   bench/run.sh [DURATION_SECONDS] [CONNECTIONS]
#
# Prints a Markdown table (requests/s, p50, p99 for hits and misses) and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
CONN=${2:-64}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

VENV=bench/.venv
if [ ! -x "$VENV/bin/gunicorn" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r bench/requirements.txt
fi
# serve needs no AWS SDK; the lean build is the one a single-host user runs.
cargo build --release --bin honeytoken --no-default-features --features cli -q

WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 did not open" >&2; exit 1; }
# The process listening on the port must be the one we started.
check_owner() {
  local port=$1 pid=$2
  ss -ltnpH "sport = :$port" | grep -q "pid=$pid," || { echo "port $port is not served by pid $pid" >&2; exit 1; }
}

HT=target/release/honeytoken
TOKEN=$($HT --data-dir "$WORK/ht" mint --kind key --prefix acme_live_ --label bench --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
MISS="acme_live_4eC39HqLyjWDarjtT1zdp7dcXyZ0ab"

P1=$(free_port)
# --min-latency 0: measure the server itself, not the timing floor.
$HT --data-dir "$WORK/ht" serve --addr 127.0.0.1:$P1 --min-latency 0ms 2>"$WORK/serve.log" &
PIDS+=($!); wait_port $P1; check_owner $P1 ${PIDS[-1]}

echo "{\"$TOKEN\": {\"id\": \"bench\", \"label\": \"bench\"}}" > "$WORK/tokens.json"
P2=$(free_port)
(cd bench/baseline && BASELINE_TOKENS="$WORK/tokens.json" BASELINE_HITS="$WORK/hits.log" \
  exec ../../$VENV/bin/gunicorn -w 1 -k sync -b 127.0.0.1:$P2 --log-level warning app:app) &
PIDS+=($!); wait_port $P2; check_owner $P2 ${PIDS[-1]}

# wrk prints "Requests/sec: N" and, with --latency, "50% X" and "99% Y".
run() { wrk -t2 -c"$CONN" -d"${DUR}s" --latency -H "Authorization: Bearer $2" "http://127.0.0.1:$1/v1/users" > "$WORK/wrk.out"
        local rps p50 p99
        rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.out")
        p50=$(awk '$1=="50%" {print $2}' "$WORK/wrk.out"); p99=$(awk '$1=="99%" {print $2}' "$WORK/wrk.out")
        echo "$rps $p50 $p99"; }

read -r H_RPS H_50 H_99 <<<"$(run $P1 "$TOKEN")"
read -r M_RPS M_50 M_99 <<<"$(run $P1 "$MISS")"
read -r BH_RPS BH_50 BH_99 <<<"$(run $P2 "$TOKEN")"
read -r BM_RPS BM_50 BM_99 <<<"$(run $P2 "$MISS")"
# Timing: the same server with its default response-time floor; a hit must not
# be told from a miss by latency.
P3=$(free_port)
$HT --data-dir "$WORK/ht" serve --addr 127.0.0.1:$P3 --min-latency 20ms 2>"$WORK/serve-floor.log" &
PIDS+=($!); wait_port $P3; check_owner $P3 ${PIDS[-1]}
CONN_SAVE=$CONN; CONN=16
read -r FH_RPS FH_50 FH_99 <<<"$(run $P3 "$TOKEN")"
read -r FM_RPS FM_50 FM_99 <<<"$(run $P3 "$MISS")"
CONN=$CONN_SAVE

STORED=$($HT --data-dir "$WORK/ht" hits --format json --limit 100000000 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
BLINES=$(wc -l < "$WORK/hits.log")

echo "machine: $(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | xargs); wrk -t2 -c$CONN -d${DUR}s"
echo
echo "| server | kind | requests/s | p50 | p99 | hits stored |"
echo "|---|---|---:|---:|---:|---:|"
echo "| honeytoken serve | hit | $H_RPS | $H_50 | $H_99 | $STORED |"
echo "| honeytoken serve | miss | $M_RPS | $M_50 | $M_99 | |"
echo "| Flask + gunicorn (1 sync worker) | hit | $BH_RPS | $BH_50 | $BH_99 | $BLINES |"
echo "| Flask + gunicorn (1 sync worker) | miss | $BM_RPS | $BM_50 | $BM_99 | |"
echo
echo "timing with the default floor (serve --min-latency 20ms, wrk -c16): hit p50 $FH_50 p99 $FH_99 | miss p50 $FM_50 p99 $FM_99"
python3 -c "print(f'ratio hits/s: {$H_RPS/$BH_RPS:.1f}x   ratio misses/s: {$M_RPS/$BM_RPS:.1f}x')"

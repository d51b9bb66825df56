#!/usr/bin/env bash
# Overhead of `honeytoken guard` (the reverse proxy) in front of an upstream,
# against the same upstream direct, in one run on the same machine. Needs wrk
# (Debian: apt-get install wrk).
#
#   infra/bench/guard-detail.sh [DURATION_SECONDS] [CONNECTIONS] [FIXED_RATE_CONNECTIONS] [DELAY_MS]
#
# GUARD_THREADS=N runs the proxies with N runtime worker threads
# (TOKIO_WORKER_THREADS); unset, one per core. APP_WORKERS=gthread runs the
# application's gunicorn workers with threads (keep-alive connections)
# instead of the default sync workers (a new connection per request).
#
# 1. A typical application: the Flask app of infra/bench/baseline under gunicorn
#    (4 sync workers). Throughput and latency direct and through the proxy,
#    same wrk settings, requests without a honeytoken (the production case).
# 2. A trivial upstream (`honeytoken serve --min-latency 0ms`, a Rust server
#    answering a fixed 401): proxy, upstream and wrk share the machine's
#    cores, so a throughput ratio says little. Instead wrk paces each
#    connection (a Lua `delay()` per request) for a fixed offered rate, and the
#    script reports p50/p99 direct and through the proxy, plus the proxy's
#    own CPU time (utime+stime from /proc) per request.
# 3. The application paced again, timed by examples/paced_load.rs, which
#    starts each request's clock before the connection is made. wrk starts
#    it at the first write, so against gunicorn's sync workers (a new
#    connection per request) wrk's direct figure leaves out the connect and
#    the worker's accept that the proxied figure includes. ROUNDS (default
#    3) alternations of direct and proxied runs, and the median of the
#    added p50/p99, so a drift of the machine's speed between runs does not
#    decide the figure.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DUR=${1:-10}
CONN=${2:-32}
FCONN=${3:-8}
DELAY=${4:-4}
# shellcheck source=lib.sh
source "$ROOT/infra/bench/lib.sh"
need_wrk
need_baseline

build_lean
cargo build --release --example paced_load -q
ROUNDS=${ROUNDS:-3}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)

HT=target/release/honeytoken
$HT --data-dir "$WORK/ht" mint --kind key --prefix acme_live_ --label bench --format json >/dev/null
# An ordinary client's own key: what production requests carry.
AUTH="Bearer sk_live_51HqLyjWDarjtT1zdp7dcXGgeOo0jPpKx3c"

echo '{}' > "$WORK/tokens.json"
P_APP=$(free_port)
(cd infra/bench/baseline && BASELINE_TOKENS="$WORK/tokens.json" BASELINE_HITS="$WORK/hits.log" \
  exec "$ROOT/$VENV/bin/gunicorn" -w 4 -k "${APP_WORKERS:-sync}" -b 127.0.0.1:$P_APP --log-level warning app:app) &
PIDS+=($!); wait_port $P_APP; check_owner $P_APP ${PIDS[-1]}

P_TRIV=$(free_port)
$HT --data-dir "$WORK/up" serve --addr 127.0.0.1:$P_TRIV --min-latency 0ms 2>"$WORK/up.log" &
PIDS+=($!); wait_port $P_TRIV; check_owner $P_TRIV ${PIDS[-1]}

P_G1=$(free_port)
GENV=()
[ -n "${GUARD_THREADS:-}" ] && GENV=(env TOKIO_WORKER_THREADS="$GUARD_THREADS")
"${GENV[@]}" $HT --data-dir "$WORK/ht" guard --listen 127.0.0.1:$P_G1 --upstream http://127.0.0.1:$P_APP --service app 2>"$WORK/g1.log" &
PIDS+=($!); G1=${PIDS[-1]}; wait_port $P_G1; check_owner $P_G1 $G1
P_G2=$(free_port)
"${GENV[@]}" $HT --data-dir "$WORK/ht" guard --listen 127.0.0.1:$P_G2 --upstream http://127.0.0.1:$P_TRIV --service trivial 2>"$WORK/g2.log" &
PIDS+=($!); G2=${PIDS[-1]}; wait_port $P_G2; check_owner $P_G2 $G2

cat > "$WORK/pace.lua" <<LUA
function delay() return $DELAY end
LUA

# wrk prints "Requests/sec: N", "N requests in", and with --latency "50% X" / "99% Y".
run() { local port=$1 conn=$2; shift 2
        wrk -t2 -c"$conn" -d"${DUR}s" --latency -H "Authorization: $AUTH" "$@" "http://127.0.0.1:$port/v1/users" > "$WORK/wrk.out"
        local rps n p50 p99
        rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.out")
        n=$(awk '/requests in/ {print $1}' "$WORK/wrk.out")
        p50=$(awk '$1=="50%" {print $2}' "$WORK/wrk.out"); p99=$(awk '$1=="99%" {print $2}' "$WORK/wrk.out")
        echo "$rps $n $p50 $p99"; }

read -r A_RPS A_N A_50 A_99 <<<"$(run $P_APP "$CONN")"
read -r AG_RPS AG_N AG_50 AG_99 <<<"$(run $P_G1 "$CONN")"
# Latency added in front of the application at a rate it serves without queueing.
read -r AP_RPS AP_N AP_50 AP_99 <<<"$(run $P_APP "$FCONN" -s "$WORK/pace.lua")"
read -r AGP_RPS AGP_N AGP_50 AGP_99 <<<"$(run $P_G1 "$FCONN" -s "$WORK/pace.lua")"

PL=target/release/examples/paced_load
PACED=()
for _ in $(seq "$ROUNDS"); do
  read -r _ PD_RPS PD_50 PD_99 _ <<<"$($PL 127.0.0.1:$P_APP /v1/users "$FCONN" "$DELAY" "$DUR" "Authorization: $AUTH")"
  read -r _ PG_RPS PG_50 PG_99 _ <<<"$($PL 127.0.0.1:$P_G1 /v1/users "$FCONN" "$DELAY" "$DUR" "Authorization: $AUTH")"
  PACED+=("$PD_RPS $PD_50 $PD_99 $PG_RPS $PG_50 $PG_99")
done

read -r T_RPS T_N T_50 T_99 <<<"$(run $P_TRIV "$FCONN" -s "$WORK/pace.lua")"
C0=$(cpu_ticks $G2)
read -r TG_RPS TG_N TG_50 TG_99 <<<"$(run $P_G2 "$FCONN" -s "$WORK/pace.lua")"
C1=$(cpu_ticks $G2)
CPU_US=$(python3 -c "print(round(($C1-$C0)/$TICK/$TG_N*1e6, 1))")
RATIO=$(python3 -c "print(round($AG_RPS/$A_RPS*100, 1))")

echo "guard worker threads: ${GUARD_THREADS:-one per core}"
echo "machine: $(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | xargs)"
echo
echo "Typical application (Flask, gunicorn 4 ${APP_WORKERS:-sync} workers), wrk -t2 -c$CONN -d${DUR}s:"
echo
echo "| path | requests/s | p50 | p99 |"
echo "|---|---:|---:|---:|"
echo "| direct | $A_RPS | $A_50 | $A_99 |"
echo "| through honeytoken guard | $AG_RPS | $AG_50 | $AG_99 |"
echo
echo "throughput through the proxy: ${RATIO}% of direct"
echo
echo "The same application paced (wrk -t2 -c$FCONN -d${DUR}s, delay ${DELAY} ms per request per connection), the latency the proxy adds:"
echo
echo "| path | requests/s | p50 | p99 |"
echo "|---|---:|---:|---:|"
echo "| direct | $AP_RPS | $AP_50 | $AP_99 |"
echo "| through honeytoken guard | $AGP_RPS | $AGP_50 | $AGP_99 |"
echo
echo "The same application paced, timed from before the connect (examples/paced_load.rs, $FCONN clients, delay ${DELAY} ms, ${DUR}s per run, $ROUNDS rounds):"
echo
echo "| round | direct requests/s | direct p50 | direct p99 | through the guard requests/s | p50 | p99 | added p50 | added p99 |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
ADDED=()
i=0
for r in "${PACED[@]}"; do
  i=$((i + 1))
  read -r a b c d e f <<<"$r"
  echo "| $i | $a | ${b} µs | ${c} µs | $d | ${e} µs | ${f} µs | $((e - b)) µs | $((f - c)) µs |"
  ADDED+=("$((e - b)) $((f - c))")
done
printf '%s\n' "${ADDED[@]}" | python3 -c "import sys,statistics as s; r=[l.split() for l in sys.stdin if l.strip()]; print(f'median added p50 {s.median(int(x[0]) for x in r)} µs, median added p99 {s.median(int(x[1]) for x in r)} µs')"
echo
echo "Trivial upstream (honeytoken serve), paced: wrk -t2 -c$FCONN -d${DUR}s, delay ${DELAY} ms per request per connection:"
echo
echo "| path | requests/s | p50 | p99 |"
echo "|---|---:|---:|---:|"
echo "| direct | $T_RPS | $T_50 | $T_99 |"
echo "| through honeytoken guard | $TG_RPS | $TG_50 | $TG_99 |"
echo
echo "proxy CPU time per request: ${CPU_US} µs (utime+stime over $TG_N requests)"

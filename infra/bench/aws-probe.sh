#!/usr/bin/env bash
# Measures a deployed decoy in one command: N hits and N misses, alternating,
# each timed from the client (curl's time_total), then their p50/p99, the
# statuses (a hit and a miss must get the same), the hits the decoy could not
# store in time (HitsNotStored: its `hit_not_stored` log lines for the probe
# token) and the hits found in the table (flood records counted by `count`).
#
#   infra/bench/aws-probe.sh --stack NAME [--endpoint URL] [-n N] [--path /v1/users]
#   infra/bench/aws-probe.sh --data-dir DIR --endpoint URL --log FILE [-n N]
#
# --stack: a deployed stack, through `honeytoken --backend aws --stack NAME`
#   (credentials and region as for the CLI: AWS_PROFILE, AWS_REGION). The
#   endpoint defaults to the stack's ApiUrl output; HitsNotStored is read
#   from the decoy's log group (CloudWatch Logs), which needs python3 with
#   boto3 (or the aws CLI) and logs:FilterLogEvents.
# --data-dir: a local `honeytoken serve` on that data directory; --log is the
#   file its stdout goes to (where it prints `hit_not_stored` lines).
#
# The probe token is minted for the run and disabled before the first request
# (hits of a disabled token are recorded and never alerted on, so nobody is
# paged), then left disabled with the label `aws-probe`. The probe's own
# requests are a flood from one address: past FloodWholeHits they are counted
# in one record, which the table count adds up.
#
# Exit status 0 when every hit is in the table or in the log, 1 when some hit
# is in neither (lost), 2 on a usage error.
set -euo pipefail

N=20
URL_PATH=/v1/users
STACK= DATA_DIR= ENDPOINT= LOG=
usage() { sed -n '2,26p' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --stack) STACK=${2:?}; shift 2 ;;
    --data-dir) DATA_DIR=${2:?}; shift 2 ;;
    --endpoint) ENDPOINT=${2:?}; shift 2 ;;
    --log) LOG=${2:?}; shift 2 ;;
    -n) N=${2:?}; shift 2 ;;
    --path) URL_PATH=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "aws-probe: unknown argument $1" >&2; usage ;;
  esac
done
case "$N" in ''|*[!0-9]*|0) echo "aws-probe: -n takes a positive number" >&2; exit 2 ;; esac
if [ -n "$STACK" ] && [ -n "$DATA_DIR" ]; then echo "aws-probe: --stack or --data-dir, not both" >&2; exit 2; fi
if [ -z "$STACK" ] && [ -z "$DATA_DIR" ]; then echo "aws-probe: name the decoy: --stack NAME or --data-dir DIR" >&2; exit 2; fi
if [ -n "$DATA_DIR" ] && { [ -z "$ENDPOINT" ] || [ -z "$LOG" ]; }; then
  echo "aws-probe: --data-dir needs --endpoint URL (serve's address) and --log FILE (serve's stdout)" >&2; exit 2
fi
for tool in curl python3; do
  command -v "$tool" >/dev/null || { echo "aws-probe: $tool is needed" >&2; exit 2; }
done

# The CLI: $HONEYTOKEN, else the one on PATH, else this checkout's release build.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HT=${HONEYTOKEN:-$(command -v honeytoken || echo "$ROOT/target/release/honeytoken")}
[ -x "$HT" ] || { echo "aws-probe: no honeytoken binary (set HONEYTOKEN=PATH)" >&2; exit 2; }
if [ -n "$STACK" ]; then G=(--backend aws --stack "$STACK"); else G=(--data-dir "$DATA_DIR"); fi

# Python for the AWS calls: boto3 from the caller's python3 (or the aws CLI).
aws_call() { # SCRIPT ARGS...: runs a small boto3 script
  python3 - "$@"
}

if [ -z "$ENDPOINT" ]; then
  ENDPOINT=$(aws_call "$STACK" <<'EOF'
import sys, boto3
out = boto3.client("cloudformation").describe_stacks(StackName=sys.argv[1])["Stacks"][0].get("Outputs", [])
print(next(o["OutputValue"] for o in out if o["OutputKey"] == "ApiUrl"))
EOF
)
fi
ENDPOINT=${ENDPOINT%/}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

"$HT" "${G[@]}" mint --kind key --prefix acme_live_ --label aws-probe \
  --location "infra/bench/aws-probe.sh $(date -u +%Y-%m-%dT%H:%M:%SZ)" --format json > "$WORK/mint.json"
read -r ID TOKEN < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["id"], d["token"])' "$WORK/mint.json")
"$HT" "${G[@]}" disable "$ID" > /dev/null
# A miss: the same shape with a body that carries no valid tag.
MISS="acme_live_$(python3 -c 'import secrets,string; a=string.ascii_letters+string.digits; print("".join(secrets.choice(a) for _ in range(32)))')"
START_MS=$(python3 -c 'import time; print(int(time.time()*1000))')

for _ in $(seq "$N"); do
  for kind in hit miss; do
    if [ "$kind" = hit ]; then t=$TOKEN; else t=$MISS; fi
    curl -s -o /dev/null -w "$kind %{http_code} %{time_total}\n" \
      -H "Authorization: Bearer $t" "$ENDPOINT$URL_PATH" >> "$WORK/times" || echo "$kind 000 0" >> "$WORK/times"
  done
done

# HitsNotStored: the decoy's hit_not_stored lines for the probe token.
if [ -n "$STACK" ]; then
  NOT_STORED=$(aws_call "$STACK" "$ID" "$START_MS" <<'EOF'
import sys, time, boto3
stack, token_id, start = sys.argv[1], sys.argv[2], int(sys.argv[3])
group = boto3.client("cloudformation").describe_stack_resource(
    StackName=stack, LogicalResourceId="DecoyLogGroup")["StackResourceDetail"]["PhysicalResourceId"]
logs = boto3.client("logs")
time.sleep(15)  # CloudWatch Logs delivery
# Plain terms, so the line matches whether Lambda's JSON log format keeps it
# as it was printed or wraps it in a record of its own.
pattern = '"hit_not_stored" "%s"' % token_id
n, kw = 0, {}
while True:
    page = logs.filter_log_events(logGroupName=group, startTime=start, filterPattern=pattern, **kw)
    n += len(page.get("events", []))
    if not page.get("nextToken"):
        break
    kw = {"nextToken": page["nextToken"]}
print(n)
EOF
)
else
  NOT_STORED=$(grep -F '"event":"hit_not_stored"' "$LOG" 2>/dev/null | grep -cF "\"token_id\":\"$ID\"" || true)
fi

# Hits in the table: every record of the probe token, flood counters by count.
# The table is read until the count stops growing (a query may trail a write).
IN_TABLE=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
  "$HT" "${G[@]}" hits --token "$ID" --since 1h --format json > "$WORK/hits.json"
  NOW=$(python3 -c 'import json,sys; print(sum(int(h.get("count", 1)) for h in json.load(open(sys.argv[1]))))' "$WORK/hits.json")
  if [ "$NOW" -ge "$N" ] || { [ "$NOW" -eq "$IN_TABLE" ] && [ "$NOW" -gt 0 ]; }; then IN_TABLE=$NOW; break; fi
  IN_TABLE=$NOW
  sleep 2
done

python3 - "$WORK/times" "$N" "$NOT_STORED" "$IN_TABLE" "$ID" <<'EOF'
import math, sys
path, n, not_stored, in_table, token_id = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
rows = [l.split() for l in open(path) if l.strip()]
def pct(xs, p):
    xs = sorted(xs)
    return xs[max(0, math.ceil(p / 100 * len(xs)) - 1)]
statuses = {}
for kind, label in (("hit", "hits:"), ("miss", "misses:")):
    ms = [float(t) * 1000 for k, _, t in rows if k == kind]
    codes = sorted({c for k, c, _ in rows if k == kind})
    statuses[kind] = codes
    print(f"{label:8} {len(ms)} sent, p50 {pct(ms, 50):.1f} ms, p99 {pct(ms, 99):.1f} ms, status {','.join(codes)}")
print(f"HitsNotStored: {not_stored}")
print(f"hits in the table: {in_table} of {n}")
print(f"probe token: {token_id} (disabled)")
if statuses["hit"] != statuses["miss"]:
    print("WARNING: hits and misses got different statuses")
lost = n - in_table - not_stored
if lost > 0:
    print(f"LOST: {lost} hit(s) neither in the table nor in the log")
    sys.exit(1)
EOF

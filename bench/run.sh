#!/usr/bin/env bash
# Nubo vs Moto API benchmark, both peers measured in the same run.
#
# For each peer (Moto's server and `nubo server`) and each scenario, starts a
# FRESH server on a free 127.0.0.1 port, runs bench/api_bench.py against it,
# stops it; then merges the results into one markdown table + JSON.
#
# Usage: bench/run.sh            (from anywhere; see knobs below)
#
# Knobs (environment):
#   BENCH_WORKERS="1"            space-separated worker-process counts to run (e.g. "1 2")
#   BENCH_CLIENTS="boto3,raw"    client engines (boto3 = what users run; raw = floor-free)
#   BENCH_MAX_SECONDS=20         time cap per measured phase (keeps the run < 5 min)
#   BENCH_PEERS="moto nubo"      which peers to run
#   BENCH_SCENARIOS="baseline create_vpc describe_vpcs describe_vpcs_tag"
#                                scenarios to run; also vpc_model and vpc_model_rule_per_call
#                                (the VPC-model build and reads, bench/vpc_model.py; minutes each)
#                                and instances (bench/instances.py: real instances, launch
#                                latency/throughput, memory, DescribeInstances with 1,000 vs Moto;
#                                needs root and the base image; it starts its own servers)
#   BENCH_INSTANCES_ARGS=""      extra bench/instances.py arguments (e.g. "--launches 20")
#                                network (bench/network.py: the data plane on real packets,
#                                throughput/latency vs a bare veth pair, security-group change
#                                apply time, full resync; needs root, iperf3, the base image)
#   BENCH_NETWORK_ARGS=""        extra bench/network.py arguments (e.g. "--enis 50")
#   BENCH_ARGS=""                extra api_bench.py arguments (e.g. "--model-vpcs 20")
#   BENCH_MODEL_TIMEOUT=1800     seconds before one vpc_model* api_bench run is killed (others: 240)
#   BENCH_OUT=bench/results      where results.md / results.json (+ logs) go
#   NUBO_BIN                     nubo binary (default target/release/nubo; built if absent)
#   NUBO_ADMIN_ACCOUNT_ID, NUBO_ADMIN_ACCESS_KEY_ID, NUBO_ADMIN_SECRET_ACCESS_KEY
#                                admin credentials given to nubo (fixed defaults below)
#   NUBO_SERVER_ARGS             extra args for `nubo server`
#
# Only loopback is ever used. Every server started here is stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench/api_bench.py"
WORKERS_LIST="${BENCH_WORKERS:-1}"
CLIENTS="${BENCH_CLIENTS:-boto3,raw}"
MAX_SECONDS="${BENCH_MAX_SECONDS:-20}"
PEERS="${BENCH_PEERS:-moto nubo}"
SCENARIO_LIST="${BENCH_SCENARIOS:-baseline create_vpc describe_vpcs describe_vpcs_tag}"
MODEL_TIMEOUT="${BENCH_MODEL_TIMEOUT:-1800}"
OUT="${BENCH_OUT:-$ROOT/bench/results}"
REGION=us-east-1
PY="${PYTHON:-python3}"

export NUBO_ADMIN_ACCOUNT_ID="${NUBO_ADMIN_ACCOUNT_ID:-111122223333}"
export NUBO_ADMIN_ACCESS_KEY_ID="${NUBO_ADMIN_ACCESS_KEY_ID:-AKIANUBOBENCHADMIN01}"
export NUBO_ADMIN_SECRET_ACCESS_KEY="${NUBO_ADMIN_SECRET_ACCESS_KEY:-nuboBenchSecretKey0123456789abcdefghijklm}"

mkdir -p "$OUT"
WORK="$(mktemp -d -t nubo-bench.XXXXXX)"
LOGS="$OUT/logs"
mkdir -p "$LOGS"
SERVER_PID=""
SERVER_DATA=""
START_TS=$(date +%s)
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"

log() { echo "[run.sh +$(( $(date +%s) - START_TS ))s] $*" >&2; }

stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
  if [[ -n "$SERVER_DATA" ]]; then rm -rf "$SERVER_DATA"; SERVER_DATA=""; fi
}
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# ---------------------------------------------------------------- prerequisites
if ! "$PY" -c 'import boto3, botocore' 2>/dev/null || ! command -v moto_server >/dev/null 2>&1; then
  log "installing boto3 + moto[server] with pip"
  "$PY" -m pip install --quiet boto3 'moto[server]'
fi

NUBO_PENDING=""
NUBO="${NUBO_BIN:-$ROOT/target/release/nubo}"
if [[ " $PEERS " == *" nubo "* ]]; then
  if [[ ! -x "$NUBO" ]]; then
    log "nubo binary $NUBO absent: cargo build --release -p nubo"
    if ! (cd "$ROOT" && cargo build --release -p nubo) >"$LOGS/cargo-build.log" 2>&1; then
      log "build failed (see $LOGS/cargo-build.log): nubo will be reported as pending"
      NUBO_PENDING=nubo
    fi
  fi
  if [[ -z "$NUBO_PENDING" ]] && ! "$NUBO" server --help >/dev/null 2>&1; then
    log "$NUBO has no working 'server' subcommand: nubo will be reported as pending"
    NUBO_PENDING=nubo
  fi
fi

# ---------------------------------------------------------------- servers
wait_moto() {  # port: until an EC2 DescribeRegions call succeeds
  "$PY" - "$1" <<'EOF'
import sys, time, boto3
from botocore.config import Config
c = boto3.client("ec2", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1",
                 aws_access_key_id="testing", aws_secret_access_key="testing",
                 config=Config(retries={"total_max_attempts": 1}, connect_timeout=1, read_timeout=30))
deadline = time.time() + 60
while True:
    try:
        c.describe_regions(); break
    except Exception as e:
        if time.time() > deadline: sys.exit(f"moto not ready: {e}")
        time.sleep(0.2)
EOF
}

wait_healthz() {  # port: until GET /healthz answers 200
  "$PY" - "$1" "$SERVER_PID" <<'EOF'
import os, sys, time, urllib.request
url, pid = f"http://127.0.0.1:{sys.argv[1]}/healthz", int(sys.argv[2])
deadline = time.time() + 60
while True:
    try:
        if urllib.request.urlopen(url, timeout=2).status == 200: break
    except Exception as e:
        err = e
    try: os.kill(pid, 0)
    except OSError: sys.exit("nubo server exited before /healthz answered")
    if time.time() > deadline: sys.exit(f"nubo not healthy: {err}")
    time.sleep(0.1)
EOF
}

start_server() {  # peer tag -> sets SERVER_PID, PORT, ACCESS, SECRET
  local peer=$1 tag=$2
  PORT=$(free_port)
  case "$peer" in
    moto)
      moto_server -H 127.0.0.1 -p "$PORT" >"$LOGS/moto-$tag.log" 2>&1 &
      SERVER_PID=$!
      ACCESS=testing SECRET=testing
      wait_moto "$PORT"
      ;;
    nubo)
      SERVER_DATA="$(mktemp -d -t nubo-bench-data.XXXXXX)"
      # shellcheck disable=SC2086
      "$NUBO" server --data-dir "$SERVER_DATA" --listen "127.0.0.1:$PORT" ${NUBO_SERVER_ARGS:-} \
        >"$LOGS/nubo-$tag.log" 2>&1 &
      SERVER_PID=$!
      ACCESS="$NUBO_ADMIN_ACCESS_KEY_ID" SECRET="$NUBO_ADMIN_SECRET_ACCESS_KEY"
      wait_healthz "$PORT"
      ;;
  esac
}

# ---------------------------------------------------------------- runs
# One fresh server per (scenario[, client]); the read scenarios run every
# client engine on the same seeded server; the builds (CreateVpc, the VPC
# model) get a fresh one per engine, and vpc_model's reads run on what it built.
JSONS=()
for peer in $PEERS; do
  if [[ "$peer" == nubo && -n "$NUBO_PENDING" ]]; then continue; fi
  for workers in $WORKERS_LIST; do
    runs=()
    for sc in $SCENARIO_LIST; do
      case "$sc" in
        instances|network) ;;  # bench/instances.py and bench/network.py run below
        create_vpc|vpc_model|vpc_model_rule_per_call)
          for cl in ${CLIENTS//,/ }; do runs+=("$sc:$cl"); done ;;
        *) runs+=("$sc:$CLIENTS") ;;
      esac
    done
    for run in "${runs[@]}"; do
      sc=${run%%:*} cls=${run#*:}
      tag="$sc-${cls//,/+}-w$workers"
      out="$WORK/$peer-$tag.json"
      if ! start_server "$peer" "$tag"; then
        log "$peer failed to start for $tag (see $LOGS/$peer-$tag.log)"
        stop_server
        continue
      fi
      log "$peer $tag on 127.0.0.1:$PORT (pid $SERVER_PID)"
      limit=240
      if [[ "$sc" == vpc_model* ]]; then limit=$MODEL_TIMEOUT; fi
      # shellcheck disable=SC2086
      timeout "$limit" "$PY" "$BENCH" --endpoint "http://127.0.0.1:$PORT" --access-key "$ACCESS" \
        --secret-key "$SECRET" --region "$REGION" --label "$peer" --scenarios "$sc" \
        --clients "$cls" --workers "$workers" --max-seconds "$MAX_SECONDS" --json "$out" \
        ${BENCH_ARGS:-} || log "$peer $tag: api_bench reported a failure"
      stop_server
      if [[ -s "$out" ]]; then JSONS+=("$out"); fi
    done
  done
done

# ---------------------------------------------------------------- instances
INSTANCES_MD=""
if [[ " $SCENARIO_LIST " == *" instances "* ]]; then
  if [[ -n "$NUBO_PENDING" ]]; then
    log "instances: nubo is pending, skipped"
  else
    log "instances: bench/instances.py (real instances; minutes)"
    # shellcheck disable=SC2086
    NUBO_BIN="$NUBO" "$PY" "$ROOT/bench/instances.py" --json "$OUT/instances.json" \
      --markdown "$WORK/instances.md" ${BENCH_INSTANCES_ARGS:-} 2>"$LOGS/instances.log" >/dev/null \
      || log "instances: bench/instances.py reported a failure (see $LOGS/instances.log)"
    if [[ -s "$WORK/instances.md" ]]; then INSTANCES_MD="$WORK/instances.md"; fi
  fi
fi

# ---------------------------------------------------------------- network
NETWORK_MD=""
if [[ " $SCENARIO_LIST " == *" network "* ]]; then
  if [[ -n "$NUBO_PENDING" ]]; then
    log "network: nubo is pending, skipped"
  else
    log "network: bench/network.py (real packets; minutes)"
    # shellcheck disable=SC2086
    NUBO_BIN="$NUBO" "$PY" "$ROOT/bench/network.py" --json "$OUT/network.json" \
      --markdown "$WORK/network.md" ${BENCH_NETWORK_ARGS:-} 2>"$LOGS/network.log" >/dev/null \
      || log "network: bench/network.py reported a failure (see $LOGS/network.log)"
    if [[ -s "$WORK/network.md" ]]; then NETWORK_MD="$WORK/network.md"; fi
  fi
fi

# ---------------------------------------------------------------- report
# A peer with no result at all (not built, or never started) shows as "pending".
PENDING=""
for peer in moto nubo; do
  have=""
  for j in "${JSONS[@]}"; do [[ "$(basename "$j")" == "$peer-"* ]] && have=1; done
  if [[ -z "$have" ]]; then PENDING="$PENDING,$peer"; fi
done
{
  echo "Run: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?'), " \
       "scenarios: $SCENARIO_LIST, workers: $WORKERS_LIST, phase time cap ${MAX_SECONDS}s, total $(( $(date +%s) - START_TS ))s," \
       "load average before/after: $LOAD_START / $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')" \
       "(2 cores: a load above ~1 from other processes skews the figures)."
  if [[ -z "$NUBO_PENDING" && " $PEERS " == *" nubo "* ]]; then
    echo
    echo "nubo binary: $NUBO, built $(date -u -r "$NUBO" +%Y-%m-%dT%H:%M:%SZ);" \
         "work tree $(cd "$ROOT" && git describe --always --dirty 2>/dev/null || echo '?')."
  fi
  echo
  if ((${#JSONS[@]})); then
    "$PY" "$BENCH" --report "${JSONS[@]}" --peers moto,nubo --pending "${PENDING#,}" --json "$OUT/results.json"
  else
    echo "No results."
  fi
  if [[ -n "$INSTANCES_MD" ]]; then echo; echo "### Instances"; echo; cat "$INSTANCES_MD"; fi
  if [[ -n "$NETWORK_MD" ]]; then echo; echo "### Data plane"; echo; cat "$NETWORK_MD"; fi
} >"$OUT/results.md"
cat "$OUT/results.md"
log "done: $OUT/results.md, $OUT/results.json, logs in $LOGS"

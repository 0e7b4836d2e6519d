#!/usr/bin/env bash
# compare.sh: SIPp and presence-harness side by side on one Kamailio (fixtures/suts/kamailio).
#
# Usage:  harness/benches/compare.sh            (from anywhere; needs a release build of
#                                                presence-harness: cargo build --release)
#   Debian packages: kamailio kamailio-presence-modules kamailio-sqlite-modules
#   kamailio-xml-modules kamailio-utils-modules kamailio-tls-modules sqlite3 sip-tester hyperfine jq (and procps,
#   util-linux for taskset).
#
# What it does:
#   - starts Kamailio as fixtures/suts/kamailio.yaml's `process` block does (reset with
#     mkdb.sh into a fresh run dir, then kamailio -DD -E ... -A PERF), waits until it answers
#     OPTIONS (harness/benches/sipp/options.xml) and stops it (by its PID) on exit;
#   - flows: hyperfine (-N, WARMUP warm-ups, RUNS runs) of each SIPp scenario
#     harness/benches/sipp/<flow>.xml as a whole process against
#     `presence-harness run --sut <profile> --flow <flow> -q`, for A.4.2.1, A.3.2.1, A.5.2.1,
#     then the three SIPp scenarios in sequence against one harness run of the three flows;
#     FLOW_ROUNDS rounds, each on a freshly started Kamailio with a new database (Kamailio
#     slows down as the runs' state accumulates) playing both clients, SIPp first in odd
#     rounds and the harness first in even ones; per round the median wall time and CPU =
#     mean user + system (hyperfine gives no per-run CPU) of each client and their ratios
#     harness/SIPp; printed: the medians over the rounds (the machine drifts by a quarter
#     over minutes, so only ratios of one round compare like with like).
#     <profile> is fixtures/suts/kamailio.yaml without its `process` block and with
#     `transports: [udp]` (Kamailio is already running);
#   - load: SIPp publish.xml at RATE PUBLISH/s for DURATION s (every call a user of its own),
#     then `presence-harness load` with the same workload on each grid of LOAD_TICKS,
#     LOAD_ROUNDS times in turn; CPU (user+sys of the client, and of all Kamailio processes)
#     per PUBLISH transaction, the ratio harness/SIPp of each round and grid, their medians;
#   - saturation: publish.xml at each of SAT_RATES for SAT_DURATION s, each on a fresh Kamailio
#     (a database holding earlier runs' publications saturates sooner); the highest rate with
#     no failed call and no retransmission.
#   - reference: the embedded reference server as its own process (presence-harness serve):
#     SIPp publish.xml and presence-harness load at RATE, then load at each of REF_RATES for
#     SAT_DURATION s, each rate on a fresh server pinned to core 1 with the generator on
#     core 0; the highest clean rate (no error, timeout or retransmission);
#   - fanout: FANOUT_PRESENTITIES × FANOUT_WATCHERS watchers on the reference server, PUBLISH at
#     FANOUT_RATE/s: end-to-end presence latency (PUBLISH until each watcher's NOTIFY) and the
#     server's resident memory per subscription;
#   - responder: the generator pinned to core 0 (taskset) against
#     harness/examples/stateless_responder.rs, at RESPONDER_RATE PUBLISH/s: the generator's own
#     limit on one core.
#   Output: a table on stdout, and all figures as JSON in $OUT.
#
# Environment (defaults):
#   RATE=2000 DURATION=10 PRESENTITIES=RATE*DURATION LOAD_ROUNDS=3   the load part
#   LOAD_TICKS="default 10000"   the harness's arrival grids (--tick-us) in the load part, each
#                              played every round: its default (5 ms at 2,000/s) and 10 ms,
#                              SIPp's default -timer_resol
#   SAT_RATES="2000 4000 6000 8000" SAT_DURATION=5 SAT_STOP_ON_FAIL=1
#   WARMUP=3 RUNS=10 FLOW_ROUNDS=5                     hyperfine, per client and round
#   PARTS="flows load saturation reference fanout responder"   which parts run
#   REF_RATES="10000 20000 40000 60000 80000"  FANOUT_PRESENTITIES=1000 FANOUT_WATCHERS=10
#   FANOUT_RATE=500  RESPONDER_RATE=50000
#   SIPP_FLOW_OPTS="-r 1000"   extra SIPp options of the flow scenarios: at its default 10
#                              calls/s SIPp waits 100 ms before its first (only) call
#   KAM_SHM=512 KAM_PKG=16     kamailio -m / -M. The profile has -m 128, which runs out of
#                              shared memory at 2000 PUBLISH/s: each PUBLISH transaction keeps
#                              about 14 KB of shm for tm's 5 s wait timer (10,000 of them at
#                              2000/s). KAM_SHM=128 starts it exactly as the profile does.
#   REPORTS_BASE=$RUNBASE      where the harness writes its reports in the flows part (a folder
#                              made there). On this project's machines / is ext4 without a
#                              journal, whose inode allocator skips every inode deleted in the
#                              last minutes: creating a run's folder and files there cost a fifth
#                              of a one-flow run's CPU after a build. REPORTS_BASE=/tmp measures it.
#   RUNBASE=/dev/shm (else $TMPDIR or /tmp)  where the run dir goes; the sqlite database is in
#                              it, and on a disk its commits (fsync) slow Kamailio down.
#   HARNESS=<root>/target/release/presence-harness
#   OUT=/tmp/compare-<date>.json   KEEP=1 keeps the temp dir (logs, hyperfine JSON, screens)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SIPP_DIR=$ROOT/harness/benches/sipp
HARNESS=${HARNESS:-$ROOT/target/release/presence-harness}
RATE=${RATE:-2000}
DURATION=${DURATION:-10}
LOAD_ROUNDS=${LOAD_ROUNDS:-3}
LOAD_TICKS=${LOAD_TICKS:-"default 10000"}
PRESENTITIES=${PRESENTITIES:-$((RATE * DURATION))}
SAT_RATES=${SAT_RATES:-"2000 4000 6000 8000"}
SAT_DURATION=${SAT_DURATION:-5}
SAT_STOP_ON_FAIL=${SAT_STOP_ON_FAIL:-1}
WARMUP=${WARMUP:-3}
RUNS=${RUNS:-10}
FLOW_ROUNDS=${FLOW_ROUNDS:-5}
PARTS=${PARTS:-"flows load saturation reference fanout responder"}
REF_RATES=${REF_RATES:-"10000 20000 40000 60000 80000"}
FANOUT_PRESENTITIES=${FANOUT_PRESENTITIES:-1000}
FANOUT_WATCHERS=${FANOUT_WATCHERS:-10}
FANOUT_RATE=${FANOUT_RATE:-500}
RESPONDER_RATE=${RESPONDER_RATE:-50000}
SIPP_FLOW_OPTS=${SIPP_FLOW_OPTS:-"-r 1000"}
KAM_SHM=${KAM_SHM:-512}
KAM_PKG=${KAM_PKG:-16}
if [[ -z ${RUNBASE:-} ]]; then
  if [[ -d /dev/shm && -w /dev/shm ]]; then RUNBASE=/dev/shm; else RUNBASE=${TMPDIR:-/tmp}; fi
fi
OUT=${OUT:-/tmp/compare-$(date +%Y%m%dT%H%M%S).json}
ADDR=127.0.0.1:5060
FLOWS=(A.4.2.1 A.3.2.1 A.5.2.1)
# transactions per run (requests sent or received), to read the ratios with
declare -A TX_SIPP=([A.4.2.1]=4 [A.3.2.1]=5 [A.5.2.1]=8)
declare -A TX_HARNESS=([A.4.2.1]=5 [A.3.2.1]=5 [A.5.2.1]=11)

die() { echo "compare.sh: $*" >&2; exit 2; }
for c in kamailio kamcmd sipp hyperfine sqlite3 ps awk; do
  command -v "$c" >/dev/null || die "$c not found (see the package list at the top)"
done
HAVE_HARNESS=1
if [[ ! -x $HARNESS ]]; then
  HAVE_HARNESS=0
  echo "presence-harness not found at $HARNESS (cargo build --release): SIPp only"
fi
has_part() { [[ " $PARTS " == *" $1 "* ]]; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/compare.XXXXXX")
RUN=$(mktemp -d "$RUNBASE/compare-kam.XXXXXX")
REPORTS=$(mktemp -d "${REPORTS_BASE:-$RUNBASE}/compare-reports.XXXXXX")
KPID=
# kam_stop: stops the Kamailio this script started, by its PID
kam_stop() {
  if [[ -n $KPID ]] && kill -0 "$KPID" 2>/dev/null; then
    kill -TERM "$KPID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$KPID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$KPID" 2>/dev/null && kill -KILL "$KPID" 2>/dev/null || true
  fi
  KPID=
}
cleanup() {
  local rc=$?
  kam_stop
  if [[ ${KEEP:-0} == 1 ]]; then
    echo "kept: $TMP (and the Kamailio run dir $RUN, the reports $REPORTS)"
  else
    rm -rf "$TMP" "$RUN" "$REPORTS"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------- helpers ----------
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }
# ratio A B: A/B, or null
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "null" || b == "null" || b + 0 == 0) print "null"; else printf "%.2f", a / b }'; }
# median X...: the median of numbers (null ones left out), or null
median() { printf '%s\n' "$@" | grep -v '^null$' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "null"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# one field of result number I (1-based) of a hyperfine JSON export
hf() { awk -v i="$2" -v k="\"$3\":" '/"command":/ { n++ } n == i && $1 == k { gsub(/,/, "", $2); print $2; exit }' "$1"; }
# run_timed LOG cmd...: runs cmd with stdout/stderr in LOG.out/LOG.err; sets T_RC, T_WALL,
# T_CPU (user+sys of cmd and its children, from the shell builtin `times`)
run_timed() {
  local log=$1 t0 t1
  shift
  t0=$(date +%s%N)
  set +e
  ("$@" >"$log.out" 2>"$log.err"; rc=$?; times >"$log.times"; exit $rc)
  T_RC=$?
  set -e
  t1=$(date +%s%N)
  T_WALL=$(calc "($t1 - $t0) / 1e9")
  T_CPU=$(awk 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); sub(/s$/, "", a[2]); s += a[1] * 60 + a[2] } printf "%.3f", s }' "$log.times")
}
# CPU seconds (user+sys) so far of Kamailio: its main process and its children
TICK=$(getconf CLK_TCK)
kam_cpu() {
  local p t=0 f
  for p in $KPID $(ps -o pid= --ppid "$KPID"); do
    f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    f=${f##*) }  # after "(comm) "; fields from 3 (state) on
    set -- $f
    t=$((t + ${12} + ${13}))
  done
  calc "$t / $TICK"
}
kam() { kamcmd -s "unix:$RUN/kamailio_ctl" "$@"; }
# wait until Kamailio's tm has no transaction left (wait timer), at most 20 s
kam_drain() {
  local w
  for _ in $(seq 100); do
    w=$(kam tm.stats 2>/dev/null | awk '$1 == "waiting:" { print $2 }')
    [[ ${w:-0} == 0 ]] && return 0
    sleep 0.2
  done
}
shm_max() { kam core.shmmem 2>/dev/null | awk '$1 == "max_used:" { print $2 }'; }
# figures of a SIPp run from its final screen (-trace_screen): sets S_OK S_FAIL S_RETRANS S_TIME S_CALLS
sipp_screen() {
  S_OK=$(awk '/Successful call/ { v = $(NF) } END { print v + 0 }' "$1")
  S_FAIL=$(awk '/Failed call/ { v = $(NF) } END { print v + 0 }' "$1")
  S_RETRANS=$(awk '/PUBLISH ---/ { v = $4 } END { print v + 0 }' "$1")
  S_CALLS=$(awk '/PUBLISH ---/ { v = $3 } END { print v + 0 }' "$1")
  S_TIME=$(awk '/Total-time/ { getline; print $(NF-3) + 0; exit }' "$1")
}
# sipp_publish TAG RATE COUNT: publish.xml load run, timed; sets T_* and S_*
sipp_publish() {
  run_timed "$TMP/$1" sipp "$ADDR" -sf "$SIPP_DIR/publish.xml" -set prefix "$1-$$" \
    -r "$2" -rp 1000 -m "$3" -nostdin -trace_screen -screen_file "$TMP/$1.screen"
  sipp_screen "$TMP/$1.screen"
}

# ---------- Kamailio ----------
cd "$ROOT"
# kam_start: a fresh database and Kamailio, waited for until it answers OPTIONS
kam_start() {
  local ready=0
  rm -rf "$RUN" && mkdir -p "$RUN/sipdump"
  RUNDIR=$RUN bash fixtures/suts/kamailio/mkdb.sh >"$TMP/mkdb.log"
  kamailio -DD -E -f fixtures/suts/kamailio/kamailio.cfg -A "RUNDIR=\"$RUN\"" -A PERF \
    -Y "$RUN" -P "$RUN/kamailio.pid" -m "$KAM_SHM" -M "$KAM_PKG" >>"$TMP/kamailio.log" 2>&1 &
  KPID=$!
  for _ in $(seq 50); do
    kill -0 "$KPID" 2>/dev/null || { tail -20 "$TMP/kamailio.log" >&2; die "kamailio exited"; }
    if sipp "$ADDR" -sf "$SIPP_DIR/options.xml" -m 1 -r 1000 -nostdin >/dev/null 2>&1; then ready=1; break; fi
    sleep 0.2
  done
  [[ $ready == 1 ]] || die "kamailio does not answer OPTIONS at $ADDR"
}
# kam_restart: Kamailio slows down as a run's state accumulates (a later block of runs is
# slower), so each timed block starts on a fresh one
kam_restart() { kam_stop; kam_start; }
kam_start
KAM_VERSION=$( (kamailio -v 2>/dev/null || true) | awk 'NR == 1 { print $3 }')
SIPP_VERSION=$( (sipp -v 2>/dev/null || true) | awk '/SIPp v/ { v = $2; sub(/^v/, "", v); sub(/[.]$/, "", v); print v; exit }')
HF_VERSION=$(hyperfine --version | awk '{ print $2 }')
HARNESS_VERSION=null
[[ $HAVE_HARNESS == 1 ]] && HARNESS_VERSION="\"$("$HARNESS" --version 2>/dev/null | awk '{ print $2 }')\""
echo "Kamailio $KAM_VERSION (pid $KPID, -m $KAM_SHM -M $KAM_PKG, run dir $RUN), SIPp $SIPP_VERSION, hyperfine $HF_VERSION"

# the profile: kamailio.yaml without `process`, UDP only, taking its deviations from
# kamailio.yaml (deviations_from) as a profile for a Kamailio one runs oneself would
PROFILE=$TMP/kamailio.yaml
awk -v shipped="$ROOT/fixtures/suts/kamailio.yaml" '
     /^process:|^deviations:/ { skip = 1; next } skip && /^[^ #]/ { skip = 0 } skip { next }
     /^transports:/ { print "transports: [udp]"; next }
     /^parallel:/ { print "parallel: all   # UDP only: one Kamailio worker, no TCP or XCAP worker to lock the database"; next }
     { print }
     END { print "deviations_from: " shipped }' fixtures/suts/kamailio.yaml >"$PROFILE"
grep -q '^process:\|^deviations:' "$PROFILE" && die "could not strip the process and deviations blocks"

JSON_FLOWS=
JSON_LOAD=null
JSON_SAT=null
JSON_REF=null
JSON_RESPONDER=null
JSON_FANOUT=null
# harness_load TAG PROFILE ARGS...: a load run, timed (on core $LOAD_CORE if set); sets T_* and
# H_* from its load.json
harness_load() {
  local tag=$1 profile=$2 wrap=()
  shift 2
  [[ -n ${LOAD_CORE:-} ]] && wrap=(taskset -c "$LOAD_CORE")
  run_timed "$TMP/$tag" "${wrap[@]}" "$HARNESS" --root "$ROOT" load --sut "$profile" --no-teardown -q --out "$TMP/$tag" "$@"
  H_JSON=$TMP/$tag/load.json
  H_US=$(jq -r '.cpu_us_per_publish' "$H_JSON" 2>/dev/null || echo null)
  H_RATE=$(jq -r '.publish_rate | floor' "$H_JSON" 2>/dev/null || echo null)
  H_RETRANS=$(jq -r '.figures.publish.retransmissions' "$H_JSON" 2>/dev/null || echo null)
  H_ERRORS=$(jq -r '[.figures.publish.by_status | to_entries[] | select((.key | tonumber) >= 300) | .value] | add // 0' "$H_JSON" 2>/dev/null || echo null)
  H_TIMEOUTS=$(jq -r '.figures.publish.timeouts' "$H_JSON" 2>/dev/null || echo null)
  H_P99=$(jq -r '.latency.publish.p99_us' "$H_JSON" 2>/dev/null || echo null)
  H_E2E99=$(jq -r '.latency.presence.p99_us' "$H_JSON" 2>/dev/null || echo null)
  H_BROKEN=$(jq -r '[.requirements[] | select(.idle.failed + .load.failed > 0) | .key] | join(",")' "$H_JSON" 2>/dev/null || echo "?")
}

# ---------- flows ----------
if has_part flows; then
  q() { printf '%q' "$1"; }
  harness_cmd() { # flows...
    local c f
    c="$(q "$HARNESS") --root $(q "$ROOT") run --sut $(q "$PROFILE")"
    for f in "$@"; do c+=" --flow $f"; done
    echo "$c -q --reports $(q "$REPORTS")"
  }
  sipp_cmd() { echo "sipp $ADDR -sf $(q "$SIPP_DIR/$1.xml") -m 1 $SIPP_FLOW_OPTS -nostdin"; }
  {
    echo 'set -e'
    for f in "${FLOWS[@]}"; do echo "$(sipp_cmd "$f") >/dev/null"; done
  } >"$TMP/sipp-all.sh"
  # each SIPp scenario and harness flow once, so a failing one stops here with its message
  for f in "${FLOWS[@]}"; do
    eval "$(sipp_cmd "$f")" >"$TMP/check-$f.out" 2>&1 || { cat "$TMP/check-$f.out" >&2; die "SIPp scenario $f failed"; }
    if [[ $HAVE_HARNESS == 1 ]]; then
      eval "$(harness_cmd "$f")" >"$TMP/check-h-$f.out" 2>&1 || { cat "$TMP/check-h-$f.out" >&2; die "presence-harness flow $f failed"; }
    fi
  done
  echo
  echo "flows: $FLOW_ROUNDS rounds of hyperfine --warmup $WARMUP --runs $RUNS per client; medians over the rounds"
  echo "  (wall: median ms, CPU: mean user+sys ms, ratio: harness/SIPp of the same round)"
  printf '%-10s %10s %10s %10s %10s %9s %9s %8s\n' flow sipp_wall sipp_cpu harn_wall harn_cpu r_wall r_cpu 'tx(s/h)'
  for f in "${FLOWS[@]}" all; do
    if [[ $f == all ]]; then
      sipp=(-n sipp-all "bash $(q "$TMP/sipp-all.sh")")
      harness=(-n harness-all "$(harness_cmd "${FLOWS[@]}")")
      txs=$((TX_SIPP[A.4.2.1] + TX_SIPP[A.3.2.1] + TX_SIPP[A.5.2.1]))
      txh=$((TX_HARNESS[A.4.2.1] + TX_HARNESS[A.3.2.1] + TX_HARNESS[A.5.2.1]))
    else
      sipp=(-n "sipp-$f" "$(sipp_cmd "$f")")
      harness=(-n "harness-$f" "$(harness_cmd "$f")")
      txs=${TX_SIPP[$f]} txh=${TX_HARNESS[$f]}
    fi
    [[ $HAVE_HARNESS == 1 ]] || harness=()
    sws=() scs=() hws=() hcs=() rws=() rcs=()
    # Each round plays both clients on one freshly started Kamailio, in turn first, so that
    # neither Kamailio's accumulating state nor the machine's drift over the minutes of the
    # run favours one client: the ratio of each round compares runs minutes apart at most.
    for round in $(seq "$FLOW_ROUNDS"); do
      kam_restart
      hf_json=$TMP/hf-$f-$round.json
      if ((round % 2)); then order=("${sipp[@]}" "${harness[@]}"); si=1 hi=2; else order=("${harness[@]}" "${sipp[@]}"); si=2 hi=1; fi
      [[ $HAVE_HARNESS == 1 ]] || si=1
      hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$hf_json" \
        "${order[@]}" >>"$TMP/hyperfine.log" 2>&1 || { tail -20 "$TMP/hyperfine.log" >&2; die "hyperfine failed on $f"; }
      sws+=("$(calc "$(hf "$hf_json" "$si" median) * 1000" 2)")
      scs+=("$(calc "($(hf "$hf_json" "$si" user) + $(hf "$hf_json" "$si" system)) * 1000" 2)")
      if [[ $HAVE_HARNESS == 1 ]]; then
        hws+=("$(calc "$(hf "$hf_json" "$hi" median) * 1000" 2)")
        hcs+=("$(calc "($(hf "$hf_json" "$hi" user) + $(hf "$hf_json" "$hi" system)) * 1000" 2)")
        rws+=("$(ratio "${hws[-1]}" "${sws[-1]}")")
        rcs+=("$(ratio "${hcs[-1]}" "${scs[-1]}")")
      fi
    done
    sw=$(median "${sws[@]}") sc=$(median "${scs[@]}")
    hw=$(median "${hws[@]}") hc=$(median "${hcs[@]}")
    rw=$(median "${rws[@]}") rc=$(median "${rcs[@]}")
    printf '%-10s %10s %10s %10s %10s %9s %9s %8s\n' "$f" "$sw" "$sc" "$hw" "$hc" "$rw" "$rc" "$txs/$txh"
    JSON_FLOWS+="${JSON_FLOWS:+,}
    \"$f\": { \"sipp\": { \"wall_ms_median\": $sw, \"cpu_ms_mean\": $sc, \"transactions\": $txs },
      \"harness\": { \"wall_ms_median\": $hw, \"cpu_ms_mean\": $hc, \"transactions\": $txh },
      \"ratio_harness_sipp\": { \"wall\": $rw, \"cpu\": $rc },
      \"rounds\": { \"ratio_wall\": [$(IFS=,; echo "${rws[*]}")], \"ratio_cpu\": [$(IFS=,; echo "${rcs[*]}")] } }"
  done
fi

# ---------- load ----------
# LOAD_ROUNDS rounds of SIPp then the harness, each on its own users; the ratios are per round
# and their median is the figure (the machine is noisy: one round is not enough). Every run
# starts on a fresh Kamailio: its database keeps each run's publications, and a run after
# another would meet a slower server (it used to be the harness's, always second).
if has_part load; then
  echo
  echo "load: $RATE PUBLISH/s for $DURATION s, $LOAD_ROUNDS rounds, harness grids: $LOAD_TICKS"
  printf '%-8s %5s %6s %6s %9s %9s %8s %8s %8s %10s %12s %12s\n' client round grid rc wall_s cpu_s calls ok failed retrans cpu_us/tx kam_cpu_us/tx
  rounds_json=
  declare -A ratios=() thread_ratios=()
  if ! { [[ $HAVE_HARNESS == 1 ]] && "$HARNESS" load --help >/dev/null 2>&1; }; then
    die "presence-harness load not available"
  fi
  for round in $(seq "$LOAD_ROUNDS"); do
    kam_restart
    k0=$(kam_cpu)
    sipp_publish "load-sipp-$round" "$RATE" $((RATE * DURATION))
    k1=$(kam_cpu)
    sipp_us=$(calc "$T_CPU * 1e6 / ($S_CALLS > 0 ? $S_CALLS : 1)" 1)
    kam_sipp_us=$(calc "($k1 - $k0) * 1e6 / ($S_CALLS > 0 ? $S_CALLS : 1)" 1)
    printf '%-8s %5s %6s %6s %9s %9s %8s %8s %8s %10s %12s %12s\n' sipp "$round" - "$T_RC" "$T_WALL" "$T_CPU" "$S_CALLS" "$S_OK" "$S_FAIL" "$S_RETRANS" "$sipp_us" "$kam_sipp_us"
    sipp_json="{ \"exit\": $T_RC, \"wall_s\": $T_WALL, \"cpu_s\": $T_CPU, \"calls\": $S_CALLS,
      \"successful\": $S_OK, \"failed\": $S_FAIL, \"retransmissions\": $S_RETRANS, \"sipp_total_time_s\": $S_TIME,
      \"cpu_us_per_publish\": $sipp_us, \"kamailio_cpu_us_per_publish\": $kam_sipp_us, \"kamailio_shm_max_used\": $(shm_max) }"
    harness_json=
    for tick in $LOAD_TICKS; do
      tick_args=()
      [[ $tick != default ]] && tick_args=(--tick-us "$tick")
      kam_restart
      k0=$(kam_cpu)
      harness_load "load-harness-$round-$tick" "$PROFILE" --presentities "$PRESENTITIES" --watchers 0 --rate "$RATE" --duration "$DURATION" "${tick_args[@]}"
      k1=$(kam_cpu)
      tx=$((RATE * DURATION))
      h_us=$(calc "$T_CPU * 1e6 / $tx" 1)
      kam_h_us=$(calc "($k1 - $k0) * 1e6 / $tx" 1)
      r=$(ratio "$h_us" "$sipp_us") r_thread=$(ratio "$H_US" "$sipp_us")
      printf '%-8s %5s %6s %6s %9s %9s %8s %8s %8s %10s %12s %12s\n' harness "$round" "$tick" "$T_RC" "$T_WALL" "$T_CPU" "$tx" - "$H_ERRORS" "$H_RETRANS" "$h_us" "$kam_h_us"
      echo "round $round, grid $tick: harness/SIPp client CPU per PUBLISH $r (whole processes), $r_thread (generator thread, $(calc "$H_US" 1) µs), PUBLISH p99 $H_P99 µs"
      ratios[$tick]+="$r " thread_ratios[$tick]+="$r_thread "
      harness_json+="${harness_json:+,} { \"tick_us\": \"$tick\", \"exit\": $T_RC, \"wall_s\": $T_WALL, \"cpu_s\": $T_CPU, \"transactions_nominal\": $tx,
        \"cpu_us_per_publish\": $h_us, \"generator_cpu_us_per_publish\": $H_US, \"errors\": $H_ERRORS,
        \"retransmissions\": $H_RETRANS, \"p99_us\": $H_P99, \"kamailio_cpu_us_per_publish\": $kam_h_us,
        \"ratio_cpu_per_publish\": $r, \"ratio_generator_thread_cpu_per_publish\": $r_thread }"
    done
    rounds_json+="${rounds_json:+,} { \"sipp\": $sipp_json, \"harness\": [$harness_json ] }"
  done
  medians_json=
  for tick in $LOAD_TICKS; do
    # shellcheck disable=SC2086
    r=$(median ${ratios[$tick]}) r_thread=$(median ${thread_ratios[$tick]})
    echo "median over $LOAD_ROUNDS rounds, grid $tick: harness/SIPp client CPU per PUBLISH $r (whole processes), $r_thread (generator thread in its publish phase)"
    medians_json+="${medians_json:+,} { \"tick_us\": \"$tick\", \"median_ratio_cpu_per_publish\": $r, \"median_ratio_generator_thread_cpu_per_publish\": $r_thread }"
  done
  JSON_LOAD="{ \"rate\": $RATE, \"duration_s\": $DURATION, \"rounds\": [$rounds_json ], \"medians\": [$medians_json ] }"
fi

# ---------- saturation ----------
if has_part saturation; then
  echo
  echo "saturation: publish.xml, $SAT_DURATION s per rate"
  printf '%-8s %6s %8s %8s %8s %10s %10s %10s\n' rate rc calls ok failed retrans sipp_time achieved/s
  best=null rows=
  for r in $SAT_RATES; do
    kam_restart
    sipp_publish "sat-$r" "$r" $((r * SAT_DURATION))
    achieved=$(calc "$S_CALLS / ($S_TIME > 0 ? $S_TIME : 1)" 0)
    clean=false
    [[ $T_RC == 0 && $S_FAIL == 0 && $S_RETRANS == 0 ]] && clean=true
    printf '%-8s %6s %8s %8s %8s %10s %10s %10s\n' "$r" "$T_RC" "$S_CALLS" "$S_OK" "$S_FAIL" "$S_RETRANS" "$S_TIME" "$achieved"
    rows+="${rows:+,}
      { \"rate\": $r, \"exit\": $T_RC, \"calls\": $S_CALLS, \"successful\": $S_OK, \"failed\": $S_FAIL,
        \"retransmissions\": $S_RETRANS, \"sipp_total_time_s\": $S_TIME, \"sipp_cpu_s\": $T_CPU, \"clean\": $clean,
        \"kamailio_shm_max_used\": $(shm_max) }"
    if [[ $clean == true ]]; then best=$r; elif [[ $SAT_STOP_ON_FAIL == 1 ]]; then break; fi
  done
  if [[ $best == null ]]; then
    echo "highest clean rate (no failed call, no retransmission): none of these rates (below ${SAT_RATES%% *}/s)"
  else
    echo "highest clean rate (no failed call, no retransmission): $best PUBLISH/s"
  fi
  JSON_SAT="{ \"duration_s\": $SAT_DURATION, \"highest_clean_rate\": $best, \"runs\": [$rows ] }"
fi

# ---------- the reference server (presence-harness serve) ----------
# start_serve: the embedded reference server as its own process on ephemeral ports; sets SPID, SPROFILE
# start_serve [CMD...]: the reference server as its own process, behind CMD (e.g. taskset -c 1).
start_serve() {
  "$@" "$HARNESS" serve --udp 127.0.0.1:0 --xcap 127.0.0.1:0 --max-subscriptions 1000000 >"$TMP/serve.out" 2>&1 &
  SPID=$!
  for _ in $(seq 50); do grep -q 'udp' "$TMP/serve.out" 2>/dev/null && break; sleep 0.1; done
  local udp
  udp=$(awk '{ for (i = 1; i < NF; i++) if ($i == "udp") print $(i + 1) }' "$TMP/serve.out")
  [[ -n $udp ]] || die "presence-harness serve did not start: $(cat "$TMP/serve.out")"
  SADDR=$udp
  SPROFILE=$TMP/serve.yaml
  printf 'name: serve\naddress: %s\ncapabilities: [publish, subscribe, open-policy]\ntransports: [udp]\n' "$udp" >"$SPROFILE"
}
stop_serve() { kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; }
rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"; }

if has_part reference && [[ $HAVE_HARNESS == 1 ]]; then
  echo
  echo "reference server: SIPp publish.xml and presence-harness load at $RATE/s for $DURATION s, then the harness's saturation search"
  start_serve
  run_timed "$TMP/ref-sipp" sipp "$SADDR" -sf "$SIPP_DIR/publish.xml" -set prefix "ref-$$" \
    -r "$RATE" -rp 1000 -m "$((RATE * DURATION))" -nostdin -trace_screen -screen_file "$TMP/ref-sipp.screen"
  sipp_screen "$TMP/ref-sipp.screen"
  ref_sipp_us=$(calc "$T_CPU * 1e6 / ($S_CALLS > 0 ? $S_CALLS : 1)" 1)
  harness_load ref-harness "$SPROFILE" --presentities "$PRESENTITIES" --rate "$RATE" --duration "$DURATION"
  ref_h_us=$H_US
  echo "SIPp $ref_sipp_us µs CPU per PUBLISH (whole process, $S_FAIL failed); harness generator $ref_h_us µs (ratio $(ratio "$ref_h_us" "$ref_sipp_us"))"
  stop_serve
  # The search: a fresh server per rate on core 1, the generator on core 0, so neither
  # takes the other's core and no rate inherits the publications of the one before.
  best=null rows=
  for r in $REF_RATES; do
    start_serve taskset -c 1
    LOAD_CORE=0 harness_load "ref-$r" "$SPROFILE" --presentities $((r * SAT_DURATION)) --rate "$r" --duration "$SAT_DURATION"
    stop_serve
    clean=false
    [[ $T_RC == 0 && $H_ERRORS == 0 && $H_RETRANS == 0 && $H_TIMEOUTS == 0 ]] && clean=true
    printf '%-8s achieved %8s/s errors %s retransmissions %s p99 %s µs clean %s\n' "$r" "$H_RATE" "$H_ERRORS" "$H_RETRANS" "$H_P99" "$clean"
    rows+="${rows:+,} { \"rate\": $r, \"achieved\": $H_RATE, \"errors\": $H_ERRORS, \"retransmissions\": $H_RETRANS, \"p99_us\": $H_P99, \"clean\": $clean }"
    if [[ $clean == true ]]; then best=$r; else break; fi
  done
  echo "reference server: highest clean PUBLISH rate $best/s"
  JSON_REF="{ \"sipp_cpu_us_per_publish\": $ref_sipp_us, \"harness_generator_cpu_us_per_publish\": $ref_h_us, \"highest_clean_rate\": $best, \"runs\": [$rows ] }"
fi

if has_part fanout && [[ $HAVE_HARNESS == 1 ]]; then
  echo
  echo "fan-out: $FANOUT_PRESENTITIES presentities × $FANOUT_WATCHERS watchers on the reference server, PUBLISH at $FANOUT_RATE/s"
  start_serve
  before=$(rss_kb "$SPID")
  harness_load fanout "$SPROFILE" --presentities "$FANOUT_PRESENTITIES" --watchers "$FANOUT_WATCHERS" \
    --rate "$FANOUT_RATE" --subscribe-rate 5000 --duration "$DURATION"
  after=$(rss_kb "$SPID")
  stop_serve
  subs=$((FANOUT_PRESENTITIES * FANOUT_WATCHERS))
  per_sub=$(calc "($after - $before) * 1024 / $subs" 0)
  notify_rate=$(jq -r '.notify_rate | floor' "$H_JSON")
  echo "presence p99 $H_E2E99 µs at $notify_rate NOTIFY/s; PUBLISH p99 $H_P99 µs; server RSS $before → $after KiB ($per_sub bytes per subscription, with its publications)"
  JSON_FANOUT="{ \"watchers\": $subs, \"publish_rate\": $FANOUT_RATE, \"notify_rate\": $notify_rate, \"presence_p99_us\": $H_E2E99,
    \"publish_p99_us\": $H_P99, \"rss_before_kib\": $before, \"rss_after_kib\": $after, \"bytes_per_subscription\": $per_sub }"
fi

if has_part responder; then
  echo
  echo "stateless responder (harness/examples/stateless_responder.rs): the generator's own limit on one core, $RESPONDER_RATE PUBLISH/s"
  (cd "$ROOT" && cargo build --release --example stateless_responder >/dev/null 2>&1) || die "cannot build the responder"
  "$ROOT/target/release/examples/stateless_responder" 127.0.0.1:0 >"$TMP/responder.out" 2>&1 &
  RPID=$!
  for _ in $(seq 50); do grep -q 'on' "$TMP/responder.out" 2>/dev/null && break; sleep 0.1; done
  raddr=$(awk '{ print $NF }' "$TMP/responder.out")
  printf 'name: responder\naddress: %s\ncapabilities: [publish]\ntransports: [udp]\n' "$raddr" >"$TMP/responder.yaml"
  run_timed "$TMP/responder-load" taskset -c 0 "$HARNESS" --root "$ROOT" load --sut "$TMP/responder.yaml" --no-teardown -q \
    --out "$TMP/responder-load" --presentities $((RESPONDER_RATE * 5)) --rate "$RESPONDER_RATE" --duration 5
  kill "$RPID" 2>/dev/null || true
  rj=$TMP/responder-load/load.json
  echo "achieved $(jq -r '.publish_rate | floor' "$rj")/s, generator $(jq -r '.cpu_us_per_publish' "$rj") µs CPU per PUBLISH, retransmissions $(jq -r '.figures.publish.retransmissions' "$rj"), p99 $(jq -r '.latency.publish.p99_us' "$rj") µs"
  JSON_RESPONDER="{ \"rate\": $RESPONDER_RATE, \"achieved\": $(jq -r '.publish_rate' "$rj"), \"generator_cpu_us_per_publish\": $(jq -r '.cpu_us_per_publish' "$rj"),
    \"retransmissions\": $(jq -r '.figures.publish.retransmissions' "$rj"), \"p99_us\": $(jq -r '.latency.publish.p99_us' "$rj") }"
fi

kill -0 "$KPID" 2>/dev/null || echo "WARNING: kamailio is no longer running (see $TMP/kamailio.log; KEEP=1 keeps it)"
errors=$(grep -c 'ERROR' "$TMP/kamailio.log" || true)
echo
echo "kamailio log: $errors ERROR lines"
[[ $errors -gt 0 ]] && grep 'ERROR' "$TMP/kamailio.log" | sed 's/^ *[0-9]*([0-9]*) //; s/{[^}]*} //' | sort | uniq -c | sort -rn | head -5

cat >"$OUT" <<EOF
{
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "host": { "cpus": $(nproc), "kernel": "$(uname -r)" },
  "versions": { "kamailio": "$KAM_VERSION", "sipp": "$SIPP_VERSION", "hyperfine": "$HF_VERSION", "presence_harness": $HARNESS_VERSION },
  "kamailio": { "shm_mb": $KAM_SHM, "pkg_mb": $KAM_PKG, "run_base": "$RUNBASE", "reports_base": "${REPORTS_BASE:-$RUNBASE}", "log_error_lines": $errors },
  "settings": { "warmup": $WARMUP, "runs": $RUNS, "sipp_flow_opts": "$SIPP_FLOW_OPTS" },
  "flows": { ${JSON_FLOWS}
  },
  "load": $JSON_LOAD,
  "saturation": $JSON_SAT,
  "reference": $JSON_REF,
  "fanout": $JSON_FANOUT,
  "responder": $JSON_RESPONDER
}
EOF
echo "JSON: $OUT"

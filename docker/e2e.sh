#!/usr/bin/env bash
# docker/lab e2e [--single|--ha]: the end-to-end lab scenarios CI runs (.ci/run) when a Docker
# engine is present; both by default, the single-controller one first, on the same images.
#
# single (one controller):
#   offline images (built or cached) -> up (semi-sync on, writer through HAProxy)
#   -> docker kill the primary -> myorch promotes a replica -> HAProxy follows (hook)
#   -> the writer resumes -> no acknowledged row missing on the new primary
#   -> docker start the old primary -> fenced, rejoins as a replica
#   -> myorch switchover --to the old primary -> HAProxy follows -> the writer resumes
#   -> no acknowledged row missing, on the primary and on every replica
#   -> down: no container, network or volume of the project left.
# ha (three controllers on a 3-member etcd, coordination = etcd):
#   up --ha (after the single scenario: on the same servers, HAProxy and writer, the single
#   controller stopped; alone: a fresh lab) -> the three controllers hold leases and agree
#   on one lock holder
#   -> docker kill the lock holder -> another controller takes the lock (lease expiry)
#   -> docker kill the primary -> the two remaining controllers agree, the new holder fails
#   over: one writable primary, the other replica repointed to it, HAProxy follows, the
#   writer resumes, no acknowledged row missing -> down.
# Prints the image build time, each step's time and the whole scenario's time; exits
# non-zero on any failure (after printing logs). Without a Docker engine: says so, exits 0.
# LAB_KEEP=1 leaves the lab up on failure (docker/lab down removes it).
set -euo pipefail
# The system's python3 when there is one: a version manager's shim in PATH (pyenv) costs
# ~0.6 s a start on a loaded machine, and the lab's waits run several pythons a poll.
[ -x /usr/bin/python3 ] && python3() { /usr/bin/python3 "$@"; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB="$HERE/lab"

RUN_SINGLE=1 RUN_HA=1
case "${1:-}" in
    "") ;;
    --single) RUN_HA=0 ;;
    --ha) RUN_SINGLE=0 ;;
    *) echo "usage: docker/lab e2e [--single|--ha]" >&2; exit 2 ;;
esac
export LAB_PROJECT=${LAB_PROJECT:-myorch-lab-e2e}
export LAB_OFFLINE=1 LAB_SEMI_SYNC=1 LAB_QUIET=1
export LAB_WRITER_PORT="" LAB_READER_PORT="" LAB_STATS_PORT=""    # random host ports: no clash
unset LAB_FLAVOR LAB_HA LAB_CONTROLLER

now() { date +%s.%N; }
ms_now() { date +%s%3N; }
dt() { awk -v a="$1" -v b="${2:-$(now)}" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '%s\n' "$*"; }
step() { printf '\n=== e2e [+%ss]: %s\n' "$(dt "${T0:-$(now)}")" "$*"; }

# The compose file is validated whenever a compose CLI exists (it needs no engine).
"$LAB" config
if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
    say "lab e2e: skipped: no Docker engine answers (docker info failed)"
    exit 0
fi
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
    say "lab e2e: skipped: a Docker engine but no compose tool (docker compose / docker-compose)"
    exit 0
fi

T0=$(now)
declare -A TIME
ok=0
cleanup() {
    local rc=$?
    if [ "$ok" != 1 ]; then
        say ""
        say "lab e2e: FAILED (exit $rc); diagnostics:"
        if [ "${LAB_HA:-0}" = 1 ]; then
            "$LAB" status 2>&1 | tail -40 || true
            LAB_LOG_LINES=40 "$LAB" logs myorch1 myorch2 myorch3 2>&1 | tail -120 || true
            LAB_LOG_LINES=10 "$LAB" logs etcd1 etcd2 etcd3 2>&1 | tail -30 || true
        else
            "$LAB" logs myorch 2>&1 | tail -80 || true
        fi
        LAB_LOG_LINES=15 "$LAB" logs writer haproxy db1 db2 db3 2>&1 | tail -120 || true
        if [ "${LAB_KEEP:-0}" = 1 ]; then
            say "lab e2e: LAB_KEEP=1: the lab stays up (LAB_PROJECT=$LAB_PROJECT docker/lab down)"
            exit "$rc"
        fi
        "$LAB" down >/dev/null 2>&1 || true
    fi
    exit "$rc"
}
trap cleanup EXIT
fail() { say "lab e2e: FAILED: $*" >&2; exit 1; }

wait_until() {   # wait_until TIMEOUT WHAT PREDICATE-ARGS...  (internal predicates of docker/lab)
    local t=$1 what=$2 deadline
    shift 2
    deadline=$(( $(date +%s) + t ))
    until "$LAB" "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || fail "timed out after ${t}s: $what"
        sleep 0.2
    done
}

writer_json() { "$LAB" _writer_json; }
jfield() { python3 -c 'import json, sys; print(json.loads(sys.argv[1]).get(sys.argv[2]))' "$1" "$2"; }

# Times come from records, not from polling: myorch's recovery record (detected_ms,
# promoted_ms, ended_ms = after the post_* hooks moved HAProxy) and the writer's stalls
# (gaps between two acknowledged writes, exact to the millisecond). One machine, one clock.
# timing REC_JSON FROM_MS TO_MS -> "detected promoted done stall resumed" (seconds after FROM_MS)
TIMING_PY='
import json, sys
r, w, t0, t1 = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def rel(k):
    return "%.2f" % ((r[k] - t0) / 1000.0) if r.get(k) else "?"
st = [s for s in w.get("stalls", []) if s[0] <= t1 and s[0] + s[1] >= t0]
if st:
    s = max(st, key=lambda s: s[1])
    stall, resumed = "%.2f" % (s[1] / 1000.0), "%.2f" % ((s[0] + s[1] - t0) / 1000.0)
else:
    stall, resumed = "<0.10", "-"
print(rel("detected_ms"), rel("promoted_ms"), rel("ended_ms"), stall, resumed)
'
timing() { python3 -c "$TIMING_PY" "$1" "$(writer_json)" "$2" "$3"; }

step "clean slate (project $LAB_PROJECT)"
"$LAB" down >/dev/null 2>&1 || true

step "images (offline path: debootstrap base, MariaDB, HAProxy and etcd from Debian, myorch built here)"
t=$(now)
if [ "$RUN_HA" = 1 ]; then "$LAB" build --ha; else "$LAB" build; fi
TIME[build]=$(dt "$t")

single_scenario() {
step "up: db1 primary, db2 db3 replicas, semi-sync, myorch, HAProxy, writer"
t=$(now)
"$LAB" up --offline
TIME[up]=$(dt "$t")
S0=$(now)     # the scenario proper starts here

wait_until 60 "the writer to acknowledge 300 rows" _writer_acked 300
semi=$(echo "SHOW GLOBAL STATUS WHERE Variable_name IN ('Rpl_semi_sync_master_status','Rpl_semi_sync_master_clients')" | "$LAB" sql db1 -N -B)
say "db1 semi-sync: $(echo "$semi" | tr '\t\n' '= ')"
grep -Eq 'Rpl_semi_sync_master_status[[:space:]]+ON' <<<"$semi" || fail "semi-sync is not on at db1"

step "kill the primary"
old=$("$LAB" _primary)
[ "$old" = db1 ] || fail "expected db1 to be the primary, myorch says '$old'"
"$LAB" kill-primary
kill_ms=$("$LAB" _last_kill_ms)
new=$("$LAB" _primary)
case "$new" in db2|db3) ;; *) fail "no replica promoted (primary: '$new')" ;; esac
"$LAB" _primary_is "$new" || fail "$new is not a writable primary"
wait_until 30 "HAProxy's writer backend to follow to $new" _haproxy_writer "$new"
wait_until 60 "the writer to resume on $new" _writer_after "$kill_ms"
sleep 2
rec=$("$LAB" _recovery failover)
say "myorch's record of the failover: $rec"
[ "$(jfield "$rec" state)" = "done" ] || fail "the failover is not recorded as done"
read -r "TIME[detect]" "TIME[promoted]" "TIME[done]" "TIME[stall_kill]" "TIME[resume_kill]" \
    <<<"$(timing "$rec" "$kill_ms" "$(( kill_ms + 30000 ))")"

step "check: no acknowledged row missing on $new"
"$LAB" check

step "restart the old primary ($old): fenced, rejoins as a replica of $new"
t=$(now)
"$LAB" start "$old"
wait_until 90 "$old to replicate from $new" _replica_of "$old" "$new"
TIME[rejoin]=$(dt "$t")
"$LAB" _primary_is "$new" || fail "$new is no longer the primary"

step "switchover back to $old (docker compose exec myorch myorch switchover --to $old:3306)"
sleep 2
t=$(now)
"$LAB" switchover --to "$old"
TIME[switchover]=$(dt "$t")
"$LAB" _primary_is "$old" || fail "$old is not the primary after the switchover"
wait_until 30 "HAProxy's writer backend to follow to $old" _haproxy_writer "$old"
wait_until 60 "the writer to resume on $old" _writer_after "$(ms_now)"
wait_until 60 "$new to replicate from $old" _replica_of "$new" "$old"
rec=$("$LAB" _recovery switchover)
say "myorch's record of the switchover: $rec"
[ "$(jfield "$rec" state)" = "done" ] || fail "the switchover is not recorded as done"
sw_ms=$(jfield "$rec" started_ms)
read -r _ "TIME[sw_promoted]" "TIME[sw_done]" "TIME[stall_sw]" _ <<<"$(timing "$rec" "$sw_ms" "$(( sw_ms + 30000 ))")"

step "check: no acknowledged row missing, on the primary and on every replica"
"$LAB" check --all --wait-s 30

step "recoveries as myorch recorded them"
"$LAB" myorch recoveries || true
"$LAB" topology

TIME[scenario]=$(dt "$S0")
if [ "$RUN_HA" = 1 ]; then
    # the HA scenario goes on with these servers, HAProxy and writer (up --ha switches)
    TIME[down]="-"
else
    save_logs
    step "down"
    t=$(now)
    "$LAB" down
    TIME[down]=$(dt "$t")
fi
TIME[single]=$(dt "$T1")
}

save_logs() {
    E2E_LOG=${LAB_E2E_LOG:-/tmp/$LAB_PROJECT.log}
    LAB_LOG_LINES=all "$LAB" logs > "$E2E_LOG" 2>&1 || true
    say "every container's log: $E2E_LOG"
}

print_single() {
step "timings of the single-controller scenario (seconds)"
printf '  %-56s %7s\n' \
    "up (servers, bootstrap, myorch, writer)" "${TIME[up]}" \
    "kill -> dead primary confirmed (myorch)" "${TIME[detect]}" \
    "kill -> replica promoted (myorch)" "${TIME[promoted]}" \
    "kill -> failover done, HAProxy moved (post_failover hook)" "${TIME[done]}" \
    "writer: longest stall around the kill" "${TIME[stall_kill]}" \
    "kill -> writer acknowledged again" "${TIME[resume_kill]}" \
    "old primary started -> replicating again" "${TIME[rejoin]}" \
    "switchover start -> promoted" "${TIME[sw_promoted]}" \
    "switchover start -> done, HAProxy moved (post_switchover)" "${TIME[sw_done]}" \
    "switchover: the myorch command as the operator sees it" "${TIME[switchover]}" \
    "writer: longest stall around the switchover" "${TIME[stall_sw]}" \
    "scenario (after up, before down)" "${TIME[scenario]}" \
    "down" "${TIME[down]}" \
    "single-controller scenario, up to down (or to the switch)" "${TIME[single]}"
}

# Is exactly one of the running database servers writable, and is it NODE? (root, over the
# server's own socket: what the servers say, not what myorch says)
one_writable_primary() {   # one_writable_primary NODE KILLED
    local n w=""
    for n in db1 db2 db3; do
        [ "$n" = "$2" ] && continue
        [ "$(echo 'SELECT @@read_only' | "$LAB" sql "$n" -N -B)" = 0 ] && w="$w $n"
    done
    [ "$w" = " $1" ] || fail "writable servers:${w:- none}; expected $1 only"
    say "writable: $1 only (the other running server is read-only)"
}

ha_scenario() {
export LAB_HA=1
if [ "$RUN_SINGLE" = 1 ]; then
    step "HA: up --ha on the running lab: the single controller stops, etcd1..3 and myorch1..3 (coordination = etcd) start"
else
    step "HA: up --ha: db1 primary, db2 db3 replicas, etcd1..3, myorch1..3 (coordination = etcd), HAProxy, writer"
fi
t=$(now)
"$LAB" up --ha --offline
TIME[ha_up]=$(dt "$t")
S0=$(now)
wait_until 60 "the writer to acknowledge 300 rows" _writer_acked 300
holder=$("$LAB" _holder)
case "$holder" in myorch1|myorch2|myorch3) ;; *) fail "no lock holder (got '$holder')" ;; esac

step "HA: kill the lock holder ($holder)"
"$LAB" kill-controller
TIME[ha_handoff]=$("$LAB" _last_handoff_s)
holder2=$("$LAB" _holder)
[ -n "$holder2" ] && [ "$holder2" != "$holder" ] || fail "the lock did not move from $holder (holder: '$holder2')"

step "HA: kill the primary; the remaining controllers ($holder2 holds the lock) fail over"
old=$("$LAB" _primary)
case "$old" in db1|db2|db3) ;; *) fail "myorch reports no primary ('$old')" ;; esac
"$LAB" kill-primary
kill_ms=$("$LAB" _last_kill_ms)
new=$("$LAB" _primary)
case "$new" in db1|db2|db3) [ "$new" != "$old" ] ;; *) false ;; esac || fail "no replica promoted (primary: '$new')"
other=$(printf '%s\n' db1 db2 db3 | grep -vx -e "$old" -e "$new")
"$LAB" _primary_is "$new" || fail "$new is not a writable primary"
wait_until 30 "$other to replicate from $new (repointed)" _replica_of "$other" "$new"
one_writable_primary "$new" "$old"
wait_until 30 "HAProxy's writer backend to follow to $new" _haproxy_writer "$new"
wait_until 60 "the writer to resume on $new" _writer_after "$kill_ms"
rec=$("$LAB" _recovery failover)
say "the failover as recorded: $rec"
[ "$(jfield "$rec" state)" = "done" ] || fail "the failover is not recorded as done"
by=$(jfield "$rec" controller)
[ "$by" = "$holder2" ] || fail "the failover was run by '$by', not by the lock holder $holder2"
read -r "TIME[ha_detect]" "TIME[ha_promoted]" "TIME[ha_done]" "TIME[ha_stall]" "TIME[ha_resume]" \
    <<<"$(timing "$rec" "$kill_ms" "$(( kill_ms + 30000 ))")"

step "HA: check: no acknowledged row missing on $new"
"$LAB" check

TIME[ha_scenario]=$(dt "$S0")
save_logs
step "HA: down"
t=$(now)
"$LAB" down
TIME[ha_down]=$(dt "$t")
TIME[ha]=$(dt "$T1")
unset LAB_HA
}

print_ha() {
step "timings of the HA scenario (seconds)"
printf '  %-56s %7s\n' \
    "up --ha (a fresh lab; after the single scenario: the switch)" "${TIME[ha_up]}" \
    "kill of the lock holder -> another controller holds the lock" "${TIME[ha_handoff]}" \
    "kill -> dead primary confirmed (by the new lock holder)" "${TIME[ha_detect]}" \
    "kill -> replica promoted" "${TIME[ha_promoted]}" \
    "kill -> failover done, HAProxy moved (post_failover hook)" "${TIME[ha_done]}" \
    "writer: longest stall around the kill" "${TIME[ha_stall]}" \
    "kill -> writer acknowledged again" "${TIME[ha_resume]}" \
    "scenario (after up, before down)" "${TIME[ha_scenario]}" \
    "down" "${TIME[ha_down]}" \
    "HA scenario, up to down" "${TIME[ha]}"
}

if [ "$RUN_SINGLE" = 1 ]; then T1=$(now); single_scenario; fi
if [ "$RUN_HA" = 1 ]; then T1=$(now); ha_scenario; fi
ok=1
say ""
printf '  %-56s %7s\n' "images (build, or cache lookups)" "${TIME[build]}"
[ "$RUN_SINGLE" = 1 ] && print_single
[ "$RUN_HA" = 1 ] && print_ha
printf '  %-56s %7s\n' "total" "$(dt "$T0")"
say "lab e2e: passed"

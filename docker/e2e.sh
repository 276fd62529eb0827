#!/usr/bin/env bash
# docker/lab e2e: the end-to-end lab scenario CI runs (.ci/run) when a Docker engine is present.
#
#   offline images (built or cached) -> up (semi-sync on, writer through HAProxy)
#   -> docker kill the primary -> myorch promotes a replica -> HAProxy follows (hook)
#   -> the writer resumes -> no acknowledged row missing on the new primary
#   -> docker start the old primary -> fenced, rejoins as a replica
#   -> myorch switchover --to the old primary -> HAProxy follows -> the writer resumes
#   -> no acknowledged row missing, on the primary and on every replica
#   -> down: no container, network or volume of the project left.
# Prints the image build time, each step's time and the whole scenario's time; exits
# non-zero on any failure (after printing logs). Without a Docker engine: says so, exits 0.
# LAB_KEEP=1 leaves the lab up on failure (docker/lab down removes it).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB="$HERE/lab"

export LAB_PROJECT=${LAB_PROJECT:-myorch-lab-e2e}
export LAB_OFFLINE=1 LAB_SEMI_SYNC=1 LAB_QUIET=1
export LAB_WRITER_PORT="" LAB_READER_PORT="" LAB_STATS_PORT=""    # random host ports: no clash
unset LAB_FLAVOR

now() { date +%s.%N; }
ms_now() { date +%s%3N; }
dt() { awk -v a="$1" -v b="${2:-$(now)}" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '%s\n' "$*"; }
step() { printf '\n=== e2e: %s\n' "$*"; }

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
        "$LAB" logs myorch 2>&1 | tail -80 || true
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

step "images (offline path: debootstrap base, MariaDB and HAProxy from Debian, myorch built here)"
t=$(now)
"$LAB" build
TIME[build]=$(dt "$t")

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
E2E_LOG=${LAB_E2E_LOG:-/tmp/$LAB_PROJECT.log}
LAB_LOG_LINES=all "$LAB" logs > "$E2E_LOG" 2>&1 || true
say "every container's log: $E2E_LOG"
step "down"
t=$(now)
"$LAB" down
TIME[down]=$(dt "$t")
ok=1

step "timings (seconds)"
printf '  %-56s %7s\n' \
    "images (build, or cache lookups)" "${TIME[build]}" \
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
    "total" "$(dt "$T0")"
say "lab e2e: passed"

#!/bin/sh
# tools/relayout.sh — let the folders show the layers (issue 13). Moves files with git mv,
# rewrites the paths that name them (#include lines, comments, docs, lint scripts) and the
# CMake source lists. The top level (orchestrator, topology, hooks, sql, docker, tests)
# stays. After it:
#
#   topology/            the pure models: instance, cluster, gtid, dialect, trust, strbuf, escape
#   topology/probe/      talking to servers: conn (every connection), probe (the probe engine)
#   orchestrator/        the program: main (CLI), daemon (the loop), config, log, store (state.db)
#   orchestrator/decide/ pure decisions: analysis, candidate, plan, intermediate, quorum,
#                        report, events (the event table), metrics (Prometheus text),
#                        rec_state (the recovery state rule), aftercare, readiness, coord
#   orchestrator/act/    watching and changing the cluster: monitor, recovery, executor, ready_track
#   orchestrator/serve/  talking to people and programs: control (ZeroMQ), http, webui, service (systemd)
#   orchestrator/ha/     several controllers: etcd (the v3 gateway client), ha (the daemon's side)
#
# myorch_decide (the pure library) is then topology/*.c + orchestrator/decide/*.c.
# Not applied on the branch that wrote it: run it once, from a clean checkout, after the
# merges; then build and commit. Idempotent: a second run changes nothing.
set -eu
cd "$(dirname "$0")/.."
git rev-parse --git-dir >/dev/null 2>&1 || { echo "relayout: not a git checkout" >&2; exit 1; }

# dir module... (each module: its .c and .h)
moves='
orchestrator/decide analysis candidate plan intermediate quorum report events metrics rec_state aftercare readiness coord
orchestrator/act monitor recovery executor ready_track
orchestrator/serve control http service webui
orchestrator/ha etcd ha
topology/probe conn probe
'
sedscript=$(mktemp)
trap 'rm -f "$sedscript"' EXIT
moved=0
printf '%s\n' "$moves" | while read -r dir mods; do
    [ -n "$dir" ] || continue
    parent=${dir%/*}
    mkdir -p "$dir"
    for m in $mods; do
        for ext in c h; do
            if [ -e "$parent/$m.$ext" ] && [ ! -e "$dir/$m.$ext" ]; then
                git mv "$parent/$m.$ext" "$dir/$m.$ext"
            fi
        done
    done
done
printf '%s\n' "$moves" | while read -r dir mods; do
    [ -n "$dir" ] || continue
    parent=${dir%/*}
    for m in $mods; do
        # "orchestrator/analysis.h" -> "orchestrator/decide/analysis.h" (also .c, in prose too)
        printf 's#(^|[^A-Za-z0-9_/])%s/%s\\.([ch])([^A-Za-z0-9_]|$)#\\1%s/%s.\\2\\3#g\n' "$parent" "$m" "$dir" "$m"
        # "orchestrator/analysis.{h,c}" (comments) and the lint's regex "topology/conn\.[ch]"
        printf 's#(^|[^A-Za-z0-9_/])%s/%s\\.\\{#\\1%s/%s.{#g\n' "$parent" "$m" "$dir" "$m"
        printf 's#/%s/%s\\\\\\.\\[ch\\]#/%s/%s\\\\.[ch]#g\n' "$parent" "$m" "$dir" "$m"
    done
done >"$sedscript"
git ls-files | grep -v '^tools/relayout\.sh$' | while read -r f; do
    [ -f "$f" ] && grep -Iq . "$f" || continue   # text files only
    sed -E -f "$sedscript" "$f" >"$f.relayout.tmp"
    if cmp -s "$f" "$f.relayout.tmp"; then rm -f "$f.relayout.tmp"; else cat "$f.relayout.tmp" >"$f"; rm -f "$f.relayout.tmp"; fi
done

# README: the Architecture section's note about the layout before this script goes.
python3 - <<'PY'
p = 'README.md'
t = open(p).read()
note = ('(Until `tools/relayout.sh` is applied, the files of `serve/`, `act/`, `decide/` and `probe/`\n'
        'sit directly in `orchestrator/` and `topology/`.)\n')
open(p, 'w').write(t.replace(note, ''))
PY

# CMake: the pure library by folder, the core over every folder.
python3 - <<'PY'
import re
p = 'CMakeLists.txt'
t = open(p).read()
t = re.sub(r'set\(DECIDE_SOURCES\n(?:    [^\n]*\n)*?    [^\n]*\)\nlist\(TRANSFORM DECIDE_SOURCES PREPEND \$\{CMAKE_SOURCE_DIR\}/\)\n',
           'file(GLOB DECIDE_SOURCES CONFIGURE_DEPENDS\n'
           '     ${CMAKE_SOURCE_DIR}/topology/*.c\n'
           '     ${CMAKE_SOURCE_DIR}/orchestrator/decide/*.c)\n', t)
t = t.replace('     ${CMAKE_SOURCE_DIR}/topology/*.c\n     ${CMAKE_SOURCE_DIR}/orchestrator/*.c\n     ${CMAKE_SOURCE_DIR}/hooks/*.c)',
              '     ${CMAKE_SOURCE_DIR}/topology/*.c ${CMAKE_SOURCE_DIR}/topology/*/*.c\n'
              '     ${CMAKE_SOURCE_DIR}/orchestrator/*.c ${CMAKE_SOURCE_DIR}/orchestrator/*/*.c\n'
              '     ${CMAKE_SOURCE_DIR}/hooks/*.c)')
open(p, 'w').write(t)
PY
grep -q 'orchestrator/decide/\*\.c' CMakeLists.txt || { echo "relayout: CMakeLists.txt: DECIDE_SOURCES not rewritten (changed shape?)" >&2; exit 1; }
grep -q 'orchestrator/\*/\*\.c' CMakeLists.txt || { echo "relayout: CMakeLists.txt: core sources not rewritten (changed shape?)" >&2; exit 1; }
left=$(git grep -nE '(^|[^A-Za-z0-9_/])(orchestrator/(analysis|candidate|plan|intermediate|quorum|report|events|metrics|rec_state|aftercare|readiness|coord|monitor|recovery|executor|ready_track|control|http|service|webui|etcd|ha)|topology/(conn|probe))\.[ch]\b' -- . ':!tools/relayout.sh' || true)
if [ -n "$left" ]; then
    echo "relayout: old paths left (fix by hand):" >&2
    echo "$left" >&2
    exit 1
fi
echo "relayout: done; build, run the unit tests, commit"

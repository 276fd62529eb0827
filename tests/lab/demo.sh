#!/usr/bin/env bash
# Install dependencies, build, start a local lab of three MariaDB servers on
# 127.0.0.1 (one primary, two GTID replicas) and run `myorch run --watch`
# against it in the foreground. Ctrl-C stops myorch and the lab.
#   LAB_DIR=/tmp/myorch-lab  LAB_PORT=23306  tests/lab/demo.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tests/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target myorch
LAB_DIR=${LAB_DIR:-/tmp/myorch-lab}
LAB_PORT=${LAB_PORT:-23306}
python3 tests/lab/lab.py down --dir "$LAB_DIR" >/dev/null 2>&1 || true
python3 tests/lab/lab.py up --dir "$LAB_DIR" --servers 3 --base-port "$LAB_PORT"
trap 'python3 tests/lab/lab.py down --dir "$LAB_DIR" >/dev/null 2>&1 || true' EXIT
cat <<MSG | tee "$LAB_DIR/try-this.txt"

Lab is up. In another terminal, try:
  build/myorch topology -c $LAB_DIR/myorch.ini
  build/myorch status   -c $LAB_DIR/myorch.ini
  build/myorch events   -c $LAB_DIR/myorch.ini
  python3 tests/lab/lab.py sql --dir $LAB_DIR 3 "STOP SLAVE SQL_THREAD"   # watch the lag grow
  python3 tests/lab/lab.py write --dir $LAB_DIR 1 --rows 100
  python3 tests/lab/lab.py kill --dir $LAB_DIR 3                         # a replica dies
  python3 tests/lab/lab.py start --dir $LAB_DIR 3
  python3 tests/lab/lab.py add-replica --dir $LAB_DIR --source 1

The two things people come for:
  python3 tests/lab/lab.py kill --dir $LAB_DIR 1                         # kill the primary: automatic failover
  build/myorch recoveries -c $LAB_DIR/myorch.ini --id 1                  # what the failover did, step by step
  python3 tests/lab/lab.py start --dir $LAB_DIR 1 --read-only off        # it comes back fenced, rejoins as a replica
  build/myorch topology -c $LAB_DIR/myorch.ini                           # FENCED until it replicates from the new primary
  build/myorch switchover -c $LAB_DIR/myorch.ini --to 127.0.0.1:$LAB_PORT   # planned: make it the primary again
  build/myorch report -c $LAB_DIR/myorch.ini                             # the unplanned outage and the planned switchover

MSG
# On a terminal the watch view redraws the screen: let the list be read first (it is also
# in the file named below).
if [ -t 0 ] && [ -t 1 ]; then
    printf '(this list is also in %s)\nPress Enter to start the controller; Ctrl-C stops everything. ' \
        "$LAB_DIR/try-this.txt"
    read -r _ || true
fi
build/myorch run -c "$LAB_DIR/myorch.ini" --watch

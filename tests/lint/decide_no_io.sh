#!/bin/sh
# The pure layer (myorch_decide) cannot include an I/O library's header: building
# tests/lint/decide_io_probe.c under its rules must fail with the poison error of every
# forbidden header; and the library's undefined symbols include nothing of myorch_core nor
# of an I/O library (the unit tests of pure modules link it alone, but only the objects
# they use).  Usage: decide_no_io.sh CMAKE BUILD_DIR DECIDE_LIB CORE_LIB HEADER...
cmake=$1 build=$2 decide=$3 core=$4
shift 4
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
nm -u "$decide" | awk '{print $NF}' | sort -u >"$tmp/undef"
nm --defined-only "$decide" | awk 'NF==3{print $3}' | sort -u >"$tmp/def"
nm --defined-only "$core" 2>/dev/null | awk 'NF==3 && $2 ~ /[TDBR]/ {print $3}' | sort -u >"$tmp/core"
comm -23 "$tmp/undef" "$tmp/def" >"$tmp/ext"
bad=$( (comm -12 "$tmp/ext" "$tmp/core"; grep -E '^(mysql_|mariadb_|zmq_|sqlite3_|MHD_|sd_|ini_|pthread_)' "$tmp/ext") | sort -u)
if [ -n "$bad" ]; then
    echo "myorch_decide calls I/O code (move the caller out of the pure layer):"
    printf '  %s\n' $bad
    exit 1
fi
out=$("$cmake" --build "$build" --target decide_io_probe 2>&1)
if [ $? -eq 0 ]; then
    echo "decide_io_probe compiled: an I/O header is usable in myorch_decide (CMakeLists.txt, myorch_decide_rules)"
    exit 1
fi
rc=0
for h in "$@"; do
    if ! printf '%s\n' "$out" | grep -qF "<$h> is I/O: myorch_decide is pure decision code"; then
        echo "no poison error for <$h>: add it to DECIDE_FORBIDDEN_HEADERS and tests/lint/decide_io_probe.c"
        rc=1
    fi
done
[ $rc -eq 0 ] && echo "lint.decide_no_io: $# I/O headers refused in myorch_decide"
exit $rc

#!/bin/sh
# Every server connection the controller makes is opened by topology/probe/conn.c (issue 12 item 7):
# the same protocol, timeouts, TLS and auth-plugin restrictions everywhere. Fails when any other
# source file of the controller creates or connects a MYSQL handle itself.
src=${1:-$(dirname "$0")/../..}
bad=$(grep -rlE 'mysql_init|mysql_real_connect(_start)?[[:space:]]*\(|mysql_optionsv|mysql_options[[:space:]]*\(' \
      "$src/orchestrator" "$src/topology" "$src/hooks" --include='*.c' --include='*.h' | grep -v '/topology/probe/conn\.[ch]$')
if [ -n "$bad" ]; then
    echo "these files open MySQL connections themselves; use topology/probe/conn.h (conn_open_start):" >&2
    echo "$bad" >&2
    exit 1
fi
echo "ok: only topology/probe/conn.c opens connections"

#!/bin/bash
# Entry point of the offline MariaDB image (docker/mariadb/Dockerfile).
set -euo pipefail
log() { echo "entrypoint: $*" >&2; }

if [ "${1:0:1}" = '-' ]; then
    set -- mariadbd "$@"
fi
if [ "$1" != mariadbd ] && [ "$1" != mysqld ]; then
    exec "$@"
fi
shift
DATADIR=/var/lib/mysql
mkdir -p /run/mysqld
chown mysql:mysql /run/mysqld "$DATADIR"
as_mysql() { setpriv --reuid=mysql --regid=mysql --init-groups -- "$@"; }

root_password() {
    local f
    for f in "${MARIADB_ROOT_PASSWORD_FILE:-}" "${MYSQL_ROOT_PASSWORD_FILE:-}"; do
        if [ -n "$f" ]; then
            [ -r "$f" ] || { log "cannot read root password file $f"; exit 1; }
            cat "$f"
            return
        fi
    done
    printf '%s' "${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}"
}

if [ ! -d "$DATADIR/mysql" ]; then
    pw=$(root_password)
    if [ -z "$pw" ]; then
        log "first start needs MYSQL_ROOT_PASSWORD_FILE (or MARIADB_ROOT_PASSWORD_FILE)"
        exit 1
    fi
    log "initialising $DATADIR"
    as_mysql mariadb-install-db --datadir="$DATADIR" --skip-test-db --skip-name-resolve \
        --auth-root-authentication-method=socket >/tmp/install-db.log 2>&1 \
        || { cat /tmp/install-db.log >&2; exit 1; }
    sock=/run/mysqld/init.sock
    as_mysql mariadbd "$@" --skip-networking --socket="$sock" --skip-slave-start &
    pid=$!
    for _ in $(seq 1 600); do
        mariadb-admin --socket="$sock" -uroot ping >/dev/null 2>&1 && break
        kill -0 "$pid" 2>/dev/null || { log "temporary server died"; exit 1; }
        sleep 0.1
    done
    # shellcheck disable=SC2120  # the contract of the official images: scripts may pass options
    docker_process_sql() { mariadb --no-defaults --socket="$sock" -uroot "$@"; }
    esc=${pw//\\/\\\\}
    esc=${esc//\'/\\\'}
    # root: unix socket inside the container or its password; root@'%' with the password,
    # as the official images make it (MARIADB_ROOT_HOST defaults to %). Never binlogged.
    docker_process_sql <<SQL
SET @@SESSION.SQL_LOG_BIN=0;
ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('$esc');
CREATE USER 'root'@'%' IDENTIFIED BY '$esc';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
    unset pw esc
    # shellcheck disable=SC1090  # init scripts are sourced, as the official images do
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sh) log "running $f"; . "$f" ;;
            *.sql) log "running $f"; docker_process_sql < "$f" ;;
            *) ;;
        esac
    done
    mariadb-admin --socket="$sock" -uroot shutdown
    wait "$pid" || true
    log "initialised"
fi
exec setpriv --reuid=mysql --regid=mysql --init-groups -- mariadbd "$@"

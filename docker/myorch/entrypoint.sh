#!/bin/sh
# myorch container entry point: the password files arrive as root-owned 0600 files under
# /run/secrets (compose secrets); they are installed 0600 for the unprivileged `myorch`
# user in /run/myorch (referenced by /etc/myorch/myorch.ini), then the controller runs as
# that user. No secret is ever in an argument or an environment variable.
set -eu
if [ "$(id -u)" = 0 ]; then
    install -d -m 0700 -o myorch -g myorch /run/myorch
    for s in myorch_password repl_password; do
        if [ ! -s "/run/secrets/$s" ]; then
            echo "myorch-entrypoint: missing secret /run/secrets/$s" >&2
            exit 1
        fi
        install -m 0600 -o myorch -g myorch "/run/secrets/$s" "/run/myorch/$s"
    done
    chown myorch:myorch /var/lib/myorch
    chmod 0700 /var/lib/myorch
    if [ "${1:-}" = myorch ]; then
        exec setpriv --reuid=myorch --regid=myorch --init-groups -- "$@"
    fi
fi
exec "$@"

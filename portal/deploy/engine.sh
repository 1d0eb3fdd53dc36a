#!/bin/sh
# Run a container-engine command with docker or podman, whichever works here:
#
#   portal/deploy/engine.sh build -t incident-portal:latest .
#   portal/deploy/engine.sh save -o incident-portal.tar incident-portal:latest
#   portal/deploy/engine.sh name            # prints the engine it chose, exit 1 if none
#   portal/deploy/engine.sh --print build . # prints the command instead of running it
#
# CONTAINER_ENGINE=docker|podman chooses; otherwise docker when its engine answers
# (`docker info`: a client without a daemon does not count), else podman.
# What podman needs on machines like the CI's, added here so nobody has to remember it:
#   --runtime runc     crun cannot set resource limits in this sandbox; runc can, once
#   CONTAINERS_CONF    (portal/deploy/containers.conf, unless set) asks for no default ulimits
#   build: --format docker  keeps HEALTHCHECK (OCI images drop it)
#          --network=host and the host's /etc/ssl/certs, so pip inside the build reaches
#          PyPI through networks that only the host's CA bundle verifies.
set -eu

here=$(cd "$(dirname "$0")" && pwd)

print=""
if [ "${1:-}" = "--print" ]; then
    print=1
    shift
fi

choose() {
    if [ -n "${CONTAINER_ENGINE:-}" ]; then
        echo "$CONTAINER_ENGINE"
    elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
        echo docker
    elif command -v podman >/dev/null 2>&1; then
        echo podman
    else
        echo "engine.sh: no container engine: install docker or podman (or set CONTAINER_ENGINE)" >&2
        return 1
    fi
}
engine=$(choose)

if [ "${1:-}" = "name" ]; then
    echo "$engine"
    exit 0
fi

set -- "$engine" "$@"
case "$(basename "$engine")" in
podman)
    export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/containers.conf}"
    subcommand=$2
    shift 2
    runtime=""
    for candidate in /usr/bin/runc /usr/sbin/runc /usr/local/bin/runc /usr/local/sbin/runc; do
        if [ -x "$candidate" ]; then runtime=$candidate; break; fi
    done
    if [ "$subcommand" = "build" ]; then
        if [ -d /etc/ssl/certs ]; then
            set -- --format docker --network=host -v /etc/ssl/certs:/etc/ssl/certs:ro "$@"
        else
            set -- --format docker --network=host "$@"
        fi
    fi
    set -- "$subcommand" "$@"
    if [ -n "$runtime" ]; then
        set -- --runtime "$runtime" "$@"
    fi
    set -- "$engine" "$@"
    ;;
esac

if [ -n "$print" ]; then
    [ "$(basename "$engine")" = podman ] && printf 'CONTAINERS_CONF=%s ' "$CONTAINERS_CONF"
    echo "$@"
    exit 0
fi
exec "$@"

#!/bin/sh
# The public image builds redis with protected mode off (the compose network is the boundary);
# Debian's redis-server keeps it on, which refuses every client from another container.
set -eu
if [ "$1" = "redis-server" ]; then
    shift
    exec redis-server --protected-mode no "$@"
fi
exec "$@"

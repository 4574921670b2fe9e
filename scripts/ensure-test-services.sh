#!/usr/bin/env bash
# Makes sure what the test suite talks to is there: PostgreSQL and Redis on loopback, and
# Debian's Chromium for the browser tests. Starts or installs only what is missing.
set -euo pipefail

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break
  sleep 1
done
pg_isready -h 127.0.0.1 -p 5432
redis-cli -h 127.0.0.1 ping

# Debian packages the tests use: Chromium for the browser tests (never a browser downloaded by
# a test tool), wrk for the loopback load test, docker-compose (v1, no daemon) to validate
# docker-compose.yml; strace, iproute2 (ip) and util-linux (unshare) for the network audit
# (tests/prod/test_no_process_reaches_beyond_loopback.py).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium fonts-liberation fonts-dejavu-core)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v strace >/dev/null 2>&1 || missing+=(strace)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

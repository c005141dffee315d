#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests.
#
#   scripts/pg-cluster.sh start DIR   initdb + start in DIR on a free port;
#                                     prints the connection URL (postgres://)
#   scripts/pg-cluster.sh start DIR tls   the same with TLS on: a test CA
#                                     (DIR/ca.crt) signs the server's certificate
#                                     (DIR/server.crt, for IP 127.0.0.1 only);
#                                     DIR/other-ca.crt is a CA that signed nothing
#   scripts/pg-cluster.sh stop DIR    stops it and removes DIR
#
# Installs Debian's `postgresql` package when the server binaries are
# missing and this runs as root with apt-get. The cluster runs as an
# unprivileged user (initdb refuses root): the calling user, or `nobody`
# when called as root. Trust authentication on 127.0.0.1 only.
set -euo pipefail
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start DIR [tls] | stop DIR | restart DIR" >&2; exit 2; }

find_bin() {
  for d in /usr/lib/postgresql/*/bin /usr/local/pgsql/bin /usr/local/bin /usr/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  return 1
}

as_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
  if ! bin=$(find_bin); then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "pg-cluster: installing postgresql from Debian" >&2
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
      bin=$(find_bin) || { echo "pg-cluster: no initdb after install" >&2; exit 1; }
    else
      echo "pg-cluster: PostgreSQL server binaries not found (and cannot install them)" >&2
      exit 1
    fi
  fi
  mkdir -p "$dir"
  # DIR must be reachable by the server's user (mktemp -d makes it 0700).
  if [ "$(id -u)" = 0 ]; then chown nobody "$dir"; chmod 755 "$dir"; fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  as_user "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  echo "$bin" >"$dir/bin"
  opts="-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
  if [ "${3:-}" = tls ]; then
    # openssl comes with Debian's postgresql (postgresql-common -> ssl-cert -> openssl).
    t="$dir/tls" && mkdir -p "$t"
    ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
    for ca in ca other-ca; do
      openssl req -x509 $ec -keyout "$t/$ca.key" -out "$dir/$ca.crt" -days 7 -subj "/CN=evident test $ca" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
    done
    openssl req $ec -keyout "$dir/data/server.key" -out "$t/server.csr" -subj "/CN=127.0.0.1" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$t/ext"
    openssl x509 -req -in "$t/server.csr" -CA "$dir/ca.crt" -CAkey "$t/ca.key" -CAcreateserial \
      -out "$dir/data/server.crt" -days 7 -extfile "$t/ext" 2>/dev/null
    cp "$dir/data/server.crt" "$dir/server.crt"
    chmod 600 "$dir/data/server.key"
    if [ "$(id -u)" = 0 ]; then chown nobody "$dir/data/server.key" "$dir/data/server.crt"; fi
    opts="$opts -c ssl=on"
  fi
  echo "$opts" >"$dir/opts"
  as_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$opts" start >&2 \
    || { cat "$dir/server.log" >&2; exit 1; }
  echo "$port" >"$dir/port"
  echo "postgres://postgres@127.0.0.1:$port/postgres"
  ;;
stop)
  if [ -f "$dir/bin" ]; then
    as_user "$(cat "$dir/bin")/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
restart)
  as_user "$(cat "$dir/bin")/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w restart \
    -o "$(cat "$dir/opts")" >/dev/null
  ;;
*) echo "usage: $0 start DIR [tls] | stop DIR | restart DIR" >&2; exit 2 ;;
esac

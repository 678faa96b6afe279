#!/usr/bin/env bash
# Makes the global/pg_control fixtures of tests/pg/pg_control_test.cc from real servers of each
# major (scripts/install-pg-majors; PGMIGRATE_PG_CACHE as there) and writes what each server
# itself said about that file to expected.txt. Run as root on Debian 12 (psql 15 is the client):
#   tests/pg/pg_control_data/make.sh [MAJOR...]
# For each major: <major>-production is the file copied while the server runs after a CHECKPOINT
# (its values from pg_control_checkpoint() at that moment), <major>-shutdown the file after a
# fast stop (its values from pg_control_checkpoint() after the next start: a start after a clean
# shutdown writes no checkpoint, so it still names the shutdown checkpoint).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${PGMIGRATE_PG_CACHE:-/var/cache/pgmigrate/pg}
majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(12 13 14 15 16 17 18)
work=$(mktemp -d)
chown postgres "$work" && chmod 755 "$work"
trap 'for d in "$work"/*/data; do runuser -u postgres -- "$cache/$(basename "$(dirname "$d")")/bin/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1 || true; done; rm -rf "$work"' EXIT
port=$((25000 + RANDOM % 2000))
q() { psql "host=$work port=$port user=postgres dbname=postgres" -XAtq -F ' ' -v ON_ERROR_STOP=1 -c "$1"; }
values() {
  q "SELECT s.pg_control_version, s.catalog_version_no, s.system_identifier, c.checkpoint_lsn, c.redo_lsn, c.timeline_id
       FROM pg_control_system() s, pg_control_checkpoint() c"
}
for m in "${majors[@]}"; do
  bin=$cache/$m/bin
  d=$work/$m/data
  mkdir -p "$d" && chown -R postgres "$work/$m" && chmod 700 "$d"
  runuser -u postgres -- "$bin/initdb" -D "$d" -A trust -U postgres >/dev/null
  printf "listen_addresses = ''\nport = %s\nunix_socket_directories = '%s'\n" "$port" "$work" >> "$d/postgresql.conf"
  runuser -u postgres -- "$bin/pg_ctl" -D "$d" -l "$work/$m/log" -w start >/dev/null
  q "CHECKPOINT"
  cp "$d/global/pg_control" "$here/$m-production"
  read -r ver cat sys ckpt redo tli < <(values)
  echo "$m-production $ver $cat $sys in_production $ckpt $redo $tli" >> "$work/expected"
  runuser -u postgres -- "$bin/pg_ctl" -D "$d" -m fast -w stop >/dev/null
  cp "$d/global/pg_control" "$here/$m-shutdown"
  runuser -u postgres -- "$bin/pg_ctl" -D "$d" -l "$work/$m/log" -w start >/dev/null
  read -r ver cat sys ckpt redo tli < <(values)
  echo "$m-shutdown $ver $cat $sys shut_down $ckpt $redo $tli" >> "$work/expected"
  runuser -u postgres -- "$bin/pg_ctl" -D "$d" -m fast -w stop >/dev/null
done
chmod 644 "$here"/*-production "$here"/*-shutdown
{
  echo "# file pg_control_version catalog_version system_identifier state checkpoint redo timeline (written by make.sh)"
  {
    grep -hv '^#' "$here/expected.txt" 2>/dev/null | grep -Ev "^($(IFS='|'; echo "${majors[*]}"))-" || true
    cat "$work/expected"
  } | sort -V
} > "$here/expected.txt.new"
mv "$here/expected.txt.new" "$here/expected.txt"

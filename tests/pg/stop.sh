#!/usr/bin/env bash
# tests/pg/stop.sh [DIR] - stops the cluster that tests/pg/start.sh started
# (DIR defaults to $MOONSTAT_TEST_PG_DIR) and removes its directory.
# A no-op when there is none.
set -uo pipefail
DIR=${1:-${MOONSTAT_TEST_PG_DIR:-}}
[ -n "$DIR" ] && [ -d "$DIR" ] || exit 0
case $(basename "$DIR") in
moonstat-pg.*) ;;
*) echo "tests/pg/stop.sh: $DIR is not a directory made by tests/pg/start.sh" >&2; exit 2 ;;
esac
PGBIN=${MOONSTAT_TEST_PG_BIN:-}
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/pg_ctl" ]; then
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r | head -1)
    command -v pg_ctl >/dev/null 2>&1 && PGBIN=$(dirname "$(readlink -f "$(command -v pg_ctl)")")
fi
as_owner=()
[ "$(id -u)" = 0 ] && as_owner=(runuser -u postgres --)
if [ -f "$DIR/data/postmaster.pid" ]; then
    "${as_owner[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -m fast -w -t 60 stop >&2 ||
        "${as_owner[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >&2 || true
fi
rm -rf "$DIR"

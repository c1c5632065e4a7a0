#!/usr/bin/env bash
# snapshot_postgres.sh - a database's view: PostgreSQL 15 runs pgbench on a
# cephvol volume; a snapshot is taken in the middle of it (the holder
# freezes the filesystem: pgbench sees a pause, no error); a clone of the
# snapshot is mounted and a second PostgreSQL started on it recovers, and
# pgbench's invariant holds there (the balances of accounts, tellers and
# branches each sum to the history's deltas). No container: the servers run
# on the host, as the postgres user, on unix sockets only.
# timeout: 300
. "$(dirname "$0")/../functions.sh"
PG=/usr/lib/postgresql/15/bin
requires_root
requires "$PG/initdb" "$PG/pg_ctl" "$PG/pgbench" "$PG/psql" runuser
id postgres >/dev/null 2>&1 || fail "no postgres user (the postgresql package makes it)"
ceph_env
test_pool
write_config volume.lease_seconds=5 log.level=info

# postgres must reach its directories: a world-traversable place of ours
P=$(mktemp -d /tmp/cvpg.XXXXXX)
cleanup_fn rm -rf "$P"
chmod 755 "$P"
mkdir -p "$P/m" "$P/mc" "$P/s" "$P/sc"
chown postgres: "$P/s" "$P/sc"
pg_as() { runuser -u postgres -- "$@"; }
pg_stop() { pg_as "$PG/pg_ctl" -D "$1" -m immediate -w -t 30 stop >/dev/null 2>&1 || true; }
unmount_quiet() { cephvol volume unmount "$1" >/dev/null 2>&1 || true; }
cleanup_fn unmount_quiet "$P/m"
cleanup_fn unmount_quiet "$P/mc"

step "PostgreSQL on volume pg"
cephvol volume create pg -o size=1G >/dev/null
cephvol volume mount pg "$P/m"
mkdir "$P/m/data" && chown postgres: "$P/m/data" && chmod 700 "$P/m/data"
pg_as "$PG/initdb" -D "$P/m/data" -A trust -U postgres > "$T/initdb.log" 2>&1 ||
    fail "initdb: $(tail -5 "$T/initdb.log")"
cleanup_fn pg_stop "$P/m/data"
pg_as "$PG/pg_ctl" -D "$P/m/data" -l "$P/s/log" -w -t 60 \
    -o "-k $P/s -c listen_addresses= -p 5432" start >/dev/null ||
    fail "postgres did not start: $(tail -5 "$P/s/log")"
pg_as "$PG/pgbench" -h "$P/s" -p 5432 -i -s 5 -q postgres > "$T/init.log" 2>&1 ||
    fail "pgbench -i: $(tail -5 "$T/init.log")"

step "pgbench runs; a snapshot in the middle of it"
pg_as "$PG/pgbench" -h "$P/s" -p 5432 -c 4 -j 2 -T 16 postgres > "$T/bench.log" 2>&1 &
b=$!
sleep 6
out=$(cephvol snapshot create pg s1)
echo "$out"
assert_contains "$out" "its filesystem was frozen"
bstatus=0; wait "$b" || bstatus=$?
grep -E "^(tps|number of (transactions|failed))" "$T/bench.log" >&2 || true
[ "$bstatus" = 0 ] || fail "pgbench failed: $(tail -5 "$T/bench.log")"

step "a clone of the snapshot; a second PostgreSQL recovers on it"
cephvol volume create pgc --from pg@s1 >/dev/null
cephvol volume mount pgc "$P/mc"
rm -f "$P/mc/data/postmaster.pid"	# the first server's, copied with the rest
cleanup_fn pg_stop "$P/mc/data"
pg_as "$PG/pg_ctl" -D "$P/mc/data" -l "$P/sc/log" -w -t 60 \
    -o "-k $P/sc -c listen_addresses= -p 5433" start >/dev/null ||
    fail "postgres on the clone did not start: $(tail -5 "$P/sc/log")"
grep -E "redo|recovery|consistent" "$P/sc/log" >&2 || true
q="select (select sum(abalance) from pgbench_accounts) = (select coalesce(sum(delta), 0) from pgbench_history)
	and (select sum(tbalance) from pgbench_tellers) = (select coalesce(sum(delta), 0) from pgbench_history)
	and (select sum(bbalance) from pgbench_branches) = (select coalesce(sum(delta), 0) from pgbench_history),
	(select count(*) from pgbench_history)"
res=$(pg_as "$PG/psql" -h "$P/sc" -p 5433 -U postgres -At -c "$q" postgres) ||
    fail "psql on the clone failed"
echo "clone: invariant|transactions = $res"
[ "${res%%|*}" = t ] || fail "pgbench's invariant does not hold on the clone: $res"
[ "${res##*|}" -gt 0 ] || fail "the clone holds no transaction: $res"
total=$(pg_as "$PG/psql" -h "$P/s" -p 5432 -U postgres -At -c \
    "select count(*) from pgbench_history" postgres)
echo "the original holds $total transactions, the snapshot ${res##*|}"
[ "${res##*|}" -lt "$total" ] || fail "the snapshot holds as many transactions as the end"

step "stop both, take it down"
pg_stop "$P/mc/data"
pg_stop "$P/m/data"
cephvol volume unmount "$P/mc"
cephvol volume unmount "$P/m"
cephvol volume rm pgc
cephvol snapshot rm pg s1
cephvol volume rm pg

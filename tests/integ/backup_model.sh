#!/usr/bin/env bash
# backup_model.sh - backups against a model (tests/c/backup_model.c), real
# RADOS: random changes between snapshots (odd 512-byte writes, zeros, the
# same bytes again, discards, rollbacks, grows), the oldest snapshot
# exported in full and each next as an incremental from the one before,
# imported and applied in order into a new volume, every snapshot of it
# compared byte for byte with the model; with 64 KiB objects on 2 MiB
# volumes, then 4 MiB objects on 12 MiB ones. Each run prints its seed;
# replay one with BACKUP_MODEL_SEED=N. Then no data object may be left once
# the OSD has trimmed the snapshots.
# timeout: 240
. "$(dirname "$0")/../functions.sh"
requires rados
ceph_env
test_pool
write_config log.level=warn

seed=${BACKUP_MODEL_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
model=$CEPHVOL_BUILD/tests/backup_model
[ -x "$model" ] || fail "build $model first (make)"

step "64 KiB objects, 2 MiB volumes, 12 rounds, seed $seed"
"$model" -c "$CEPHVOL_CONF" --seed "$seed" --rounds 12 --object-size 64K --size 2M ||
	fail "backup_model with 64K objects (seed $seed)"

step "4 MiB objects, 12 MiB volumes, 4 rounds, seed $((seed + 1))"
"$model" -c "$CEPHVOL_CONF" --seed $((seed + 1)) --rounds 4 --object-size 4M --size 12M ||
	fail "backup_model with 4M objects (seed $((seed + 1)))"

step "no data object left once the OSD has trimmed the snapshots (60 s at most)"
data_left() { rados -c "$CEPH_CONF" -p "$POOL" ls | grep '^cephvol\.data\.' || true; }
for (( i = 0; i < 120; i++ )); do
	left=$(data_left)
	[ -z "$left" ] && break
	sleep 0.5
done
[ -z "$left" ] || fail "$(echo "$left" | wc -l) data objects left in $POOL after 60 s"

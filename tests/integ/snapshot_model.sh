#!/usr/bin/env bash
# snapshot_model.sh - snapshots, rollbacks and clones of clones at the image
# layer (store/image.c, store/image_layer.c, image_rollback) against real
# RADOS, every byte checked against in-memory models (tests/c/
# snapshot_model.c): with 64 KiB objects on 1 MiB volumes, then with 4 MiB
# objects on 9 MiB ones. Each run prints its seed; replay one with
# IMAGE_MODEL_SEED=N. Then the pool must hold no data object: every
# snapshot id was given back and every volume removed, but an object only
# snapshots kept stays listed until the OSD has trimmed it, in the
# background (tests/lib/ceph.sh sets osd snap trim sleep = 0).
# timeout: 120
. "$(dirname "$0")/../functions.sh"
requires rados
ceph_env
test_pool
write_config log.level=warn

seed=${IMAGE_MODEL_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
model=$CEPHVOL_BUILD/tests/snapshot_model
[ -x "$model" ] || fail "build $model first (make)"

step "64 KiB objects, 1 MiB volumes, 1500 steps, seed $seed"
"$model" -c "$CEPHVOL_CONF" --seed "$seed" --steps 1500 --object-size 64K ||
	fail "snapshot_model with 64K objects (seed $seed)"

step "4 MiB objects, 9 MiB volumes, 400 steps, seed $((seed + 1))"
"$model" -c "$CEPHVOL_CONF" --seed $((seed + 1)) --steps 400 --object-size 4M \
    --size 9M || fail "snapshot_model with 4M objects (seed $((seed + 1)))"

step "no data object left once the OSD has trimmed the snapshots (60 s at most)"
data_left() { rados -c "$CEPH_CONF" -p "$POOL" ls | grep '^cephvol\.data\.' || true; }
for (( i = 0; i < 120; i++ )); do
	left=$(data_left)
	[ -z "$left" ] && break
	sleep 0.5
done
[ -z "$left" ] || fail "$(echo "$left" | wc -l) data objects left in $POOL after" \
    "60 s, first: $(echo "$left" | head -5 | tr '\n' ' ')"
step "trimmed after $(awk -v i="$i" 'BEGIN { printf "%.1f", i / 2 }') s"

#!/usr/bin/env bash
# image_model.sh - the image layer (store/image.c) against real RADOS:
# random reads, writes, discards and flushes checked against an in-memory
# model (tests/c/image_model.c), with 64 KiB objects on a few MiB volume
# and once with 4 MiB objects; then 8 threads on one image with checksums
# and flushes (tests/c/image_stress.c). Each prints its seed; replay one
# with IMAGE_MODEL_SEED=N.
# timeout: 120
. "$(dirname "$0")/../functions.sh"
ceph_env
test_pool
write_config log.level=warn

seed=${IMAGE_MODEL_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
model=$CEPHVOL_BUILD/tests/image_model
stress=$CEPHVOL_BUILD/tests/image_stress
[ -x "$model" ] && [ -x "$stress" ] || fail "build $model and $stress first (make)"

step "model: 64 KiB objects, 3 MiB volume, seed $seed"
"$model" -c "$CEPHVOL_CONF" --seed "$seed" --ops 3000 --object-size 64K ||
	fail "image_model with 64K objects (seed $seed)"

step "model: 4 MiB objects, 24 MiB volume, seed $((seed + 1))"
"$model" -c "$CEPHVOL_CONF" --seed $((seed + 1)) --ops 300 --object-size 4M \
    --size 24M || fail "image_model with 4M objects (seed $((seed + 1)))"

step "stress: 8 threads on one image, seed $seed"
"$stress" -c "$CEPHVOL_CONF" --seed "$seed" --threads 8 --seconds 6 ||
	fail "image_stress (seed $seed)"

step "nothing left in the pool"
left=$(rados -c "$CEPH_CONF" -p "$POOL" ls | grep -c '^cephvol\.data\.' || true)
assert_eq "$left" 0 "data objects left in $POOL"

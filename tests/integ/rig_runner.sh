#!/usr/bin/env bash
# rig_runner.sh - tests/run.sh itself, on a scratch tree of tiny tests:
# one line per test (PASS with its time, FAIL with the log's tail, SKIP
# with the reason, never PASS for a skip), a timed-out and a leaking test
# fail, unit binaries run too, name filters work, the last line is
# exactly "N passed, N failed, N skipped" and the exit status is 1 on any
# failure, 0 otherwise.
# timeout: 180
. "$(dirname "$0")/../functions.sh"
requires ceph-mon ceph-osd

src=$T/src build=$T/build
mkdir -p "$src/tests/lib" "$src/tests/integ" "$build/bin" "$build/tests/unit"
cp "$CEPHVOL_SRC/tests/run.sh" "$CEPHVOL_SRC/tests/functions.sh" "$src/tests/"
cp "$CEPHVOL_SRC/tests/lib/ceph.sh" "$CEPHVOL_SRC/tests/lib/sweep.sh" "$src/tests/lib/"
ln -s "$CEPHVOL_BIN/cephvol" "$build/bin/cephvol"

t() { printf '#!/usr/bin/env bash\n%s\n. "$(dirname "$0")/../functions.sh"\n%s\n' "$2" "$3" > "$src/tests/integ/$1.sh"; }
t a_pass '' 'ceph_env; test_pool; rados -p "$POOL" put o /etc/hostname; step fine'
t b_fail '' 'step "going to fail"; fail "b_fail failed on purpose"'
t c_skip '' 'skip "needs a unicorn"'
t d_leak '' 'sleep 1234 & echo $! >> "$LEAKPIDS"; disown'
t e_timeout '# timeout: 2' 'sleep 60'
# a test without functions.sh that leaks: only the runner can see it
printf '#!/bin/sh\nsleep 1235 >/dev/null 2>&1 &\necho $! >> "$LEAKPIDS"\nexit 0\n' > "$src/tests/integ/f_rawleak.sh"
printf '#!/bin/sh\necho unit fine\n' > "$build/tests/unit/u_pass"
printf '#!/bin/sh\necho unit broken\nexit 1\n' > "$build/tests/unit/u_fail"
chmod +x "$build/tests/unit/"*
mkdir -p "$src/tests/unit"
touch "$src/tests/unit/u_pass.c" "$src/tests/unit/u_fail.c"
cp "$build/tests/unit/u_pass" "$build/tests/unit/u_stale"	# no source: not run

# inner ARGS...: run the scratch runner; output in OUTPUT, status in RC
inner() {
	RC=0
	OUTPUT=$(env -u CEPHVOL_TEST_CONF -u CEPHVOL_TEST_KEYRING -u CEPHVOL_TEST_TMP \
	    -u CEPHVOL_SRC -u CEPHVOL_BIN -u CEPHVOL_BUILD -u CEPH_CONF \
	    CEPHVOL_TEST_MEMSTORE=1 LEAKPIDS="$T/leak.pids" "$src/tests/run.sh" --build "$build" "$@" 2>&1) || RC=$?
	echo "$OUTPUT"
}

step "everything"
inner
assert_eq "$RC" 1 "exit status with failures"
assert_eq "$(echo "$OUTPUT" | tail -n 1)" "2 passed, 5 failed, 1 skipped" "last line"
echo "$OUTPUT" | grep -Eq '^PASS integ/a_pass \([0-9]+\.[0-9]s\)$' || fail "no PASS line for a_pass"
echo "$OUTPUT" | grep -q '^FAIL integ/b_fail (exit status 1' || fail "no FAIL line for b_fail"
echo "$OUTPUT" | grep -q '^    FAIL: b_fail failed on purpose' || fail "no log tail after FAIL b_fail"
echo "$OUTPUT" | grep -qx 'SKIP integ/c_skip: needs a unicorn' || fail "no SKIP line for c_skip"
echo "$OUTPUT" | grep -q '^PASS integ/c_skip' && fail "a skip was reported as a pass"
echo "$OUTPUT" | grep -q '^FAIL integ/d_leak (' || fail "the leak was not a failure"
echo "$OUTPUT" | grep -q 'process [0-9]*: sleep 1234' || fail "the leaked process was not named"
echo "$OUTPUT" | grep -q '^FAIL integ/f_rawleak (left processes' || fail "the runner missed a leak"
echo "$OUTPUT" | grep -q 'process [0-9]*: sleep 1235' || fail "the runner did not name the leak"
echo "$OUTPUT" | grep -q '^FAIL integ/e_timeout (timed out after 2s' || fail "no timeout failure"
echo "$OUTPUT" | grep -Eq '^PASS unit/u_pass \(' || fail "unit test not run"
echo "$OUTPUT" | grep -q '^FAIL unit/u_fail' || fail "failing unit test not reported"
echo "$OUTPUT" | grep -q 'u_stale' && fail "a unit binary without a source was run"
[ "$(wc -l < "$T/leak.pids")" = 2 ] || fail "expected 2 leaked pids, got: $(cat "$T/leak.pids")"
for p in $(cat "$T/leak.pids"); do
	st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) || continue
	[ "$st" = Z ] || fail "leaked process $p survived the run"
done
[ -f "$build/test-logs/integ.a_pass.log" ] || fail "no log file for a_pass"

step "filters; a run of skips only passes"
inner a_pass 'unit/u_*'
assert_eq "$(echo "$OUTPUT" | tail -n 1)" "2 passed, 1 failed, 0 skipped"
inner integ/c_skip
assert_eq "$RC" 0 "exit status of a run with only a skip"
assert_eq "$(echo "$OUTPUT" | tail -n 1)" "0 passed, 0 failed, 1 skipped"
inner no_such_test || true
assert_eq "$RC" 2 "exit status when no test matches"

#!/usr/bin/env bash
# plugin_badinput.sh - cephvold against bad requests on its socket: malformed
# JSON, wrong types, missing fields, names with '/', '..', NUL, over 255
# bytes, bodies over 64 KiB (413), unknown endpoints (404), wrong methods
# (405), huge headers (431), then a fuzz loop of random bodies. Every answer
# is an HTTP status with an Err saying what was wrong; nothing is created;
# the daemon never crashes and still answers afterwards.
# timeout: 120
. "$(dirname "$0")/../functions.sh"
requires curl jq rados

ceph_env
test_pool
write_config volume.default_size=64M
start_cephvold

# raw METHOD PATH [BODY-FILE|-]: print "STATUS BODY"
raw() {
	local m=$1 p=$2 f=${3:-}
	local args=(-sS -m 20 --unix-socket "$PLUGIN_SOCK" -X "$m" -H 'Content-Type:'
	    -w '\n%{http_code}' "http://plugin$p")
	[ -n "$f" ] && args+=(--data-binary "@$f")
	local out
	out=$(curl "${args[@]}") || { echo "000 no answer"; return 0; }
	echo "${out##*$'\n'} ${out%$'\n'*}"
}

# bad EXPECTED-STATUS EXPECTED-ERR-TEXT ENDPOINT BODY
bad() {
	local want=$1 text=$2 ep=$3 body=$4 out st
	printf '%s' "$body" > "$T/body"
	out=$(raw POST "/$ep" "$T/body")
	st=${out%% *}
	[ "$st" = "$want" ] || fail "$ep $(printf %q "$body"): status $st, want $want: $out"
	out=${out#* }
	echo "$out" | jq -e '.Err | length > 0' >/dev/null || fail "$ep: no Err in: $out"
	assert_contains "$(echo "$out" | jq -r .Err)" "$text"
}

step "well-formed requests work"
api Plugin.Activate | jq -e '.Implements == ["VolumeDriver"]' >/dev/null
api VolumeDriver.Capabilities | jq -e '.Capabilities.Scope == "global"' >/dev/null
api VolumeDriver.List | jq -e '.Volumes == [] and .Err == ""' >/dev/null

step "malformed bodies"
bad 400 "malformed JSON" VolumeDriver.Create '{"Name":'
bad 400 "malformed JSON" VolumeDriver.Create '{"Name":"a"}}'
bad 400 "malformed JSON" VolumeDriver.Get "$(printf '\x01\x02\xff')"
bad 400 "must be a JSON object" VolumeDriver.Create '["Name"]'
bad 400 "must be a JSON object" VolumeDriver.Mount '"v1"'
bad 400 "empty request body" VolumeDriver.Create ''
bad 400 "malformed JSON" VolumeDriver.Create '{"Name":"a","Name":"b"}'

step "missing and mistyped fields"
bad 400 'missing field "Name"' VolumeDriver.Create '{"Opts":null}'
bad 400 'missing field "Name"' VolumeDriver.Remove '{}'
bad 400 'field "Name" must be a string' VolumeDriver.Get '{"Name":42}'
bad 400 'missing field "ID"' VolumeDriver.Mount '{"Name":"v1"}'
bad 400 'field "ID" must be a non-empty string' VolumeDriver.Unmount '{"Name":"v1","ID":7}'
bad 400 'field "ID" must be a non-empty string' VolumeDriver.Mount '{"Name":"v1","ID":""}'
bad 400 'field "Opts" must be an object' VolumeDriver.Create '{"Name":"v1","Opts":"size=1G"}'
bad 400 'option "size" must be a string' VolumeDriver.Create '{"Name":"v1","Opts":{"size":1}}'

step "names Docker would refuse"
long=$(head -c 256 /dev/zero | tr '\0' a)
for n in "a/b" ".." "." "../etc" "-x" "" "a b" "$long" "é"; do
	bad 400 "invalid volume name" VolumeDriver.Create "{\"Name\":$(jq -Rn --arg n "$n" '$n')}"
	bad 400 "invalid volume name" VolumeDriver.Mount "{\"Name\":$(jq -Rn --arg n "$n" '$n'),\"ID\":\"x\"}"
done
bad 400 "malformed JSON" VolumeDriver.Create '{"Name":"a\u0000b"}'
ok255=$(head -c 255 /dev/zero | tr '\0' b)

step "bad options name what is accepted"
bad 400 "accepted options" VolumeDriver.Create '{"Name":"v1","Opts":{"colour":"blue"}}'
bad 400 "size" VolumeDriver.Create '{"Name":"v1","Opts":{"size":"huge"}}'
bad 400 "fs" VolumeDriver.Create '{"Name":"v1","Opts":{"fs":"ntfs"}}'

step "unknown endpoints, wrong methods"
out=$(raw POST /VolumeDriver.Frobnicate)
assert_eq "${out%% *}" 404 "unknown endpoint status"
assert_contains "$out" "unknown endpoint /VolumeDriver.Frobnicate"
out=$(raw POST /)
assert_eq "${out%% *}" 404
out=$(raw GET /VolumeDriver.List)
assert_eq "${out%% *}" 405 "GET status"
assert_contains "$out" "POST only"

step "bodies over 64 KiB get 413, with and without Content-Length"
head -c 70000 /dev/zero | tr '\0' ' ' > "$T/big"
out=$(raw POST /VolumeDriver.Create "$T/big")
assert_eq "${out%% *}" 413 "big body status"
assert_contains "$out" "too large"
out=$(curl -sS -m 20 --unix-socket "$PLUGIN_SOCK" -H 'Transfer-Encoding: chunked' \
    -H 'Content-Type:' --data-binary "@$T/big" -w '\n%{http_code}' http://plugin/VolumeDriver.Create)
assert_eq "${out##*$'\n'}" 413 "chunked big body status"
# exactly at the limit is parsed (and is malformed JSON here, not too large)
{ printf '{"Name":"v1","Opts":{"x":"'; head -c $((65536 - 29)) /dev/zero | tr '\0' y; printf '"}}'; } > "$T/edge"
assert_eq "$(stat -c %s "$T/edge")" 65536 "edge body size"
out=$(raw POST /VolumeDriver.Create "$T/edge")
assert_eq "${out%% *}" 400 "64 KiB body status"
assert_contains "$out" "accepted options"

step "huge headers are refused (431), the daemon goes on"
hdr=$(head -c 40000 /dev/zero | tr '\0' h)
st=$(curl -s -o /dev/null -m 20 --unix-socket "$PLUGIN_SOCK" -X POST -H "X-Big: $hdr" \
    -w '%{http_code}' http://plugin/Plugin.Activate || true)
[ "$st" = 431 ] || [ "$st" = 413 ] || fail "huge header: status $st"

step "unknown volumes: Get fails, Unmount is harmless, Remove fails"
out=$(api VolumeDriver.Get '{"Name":"nosuch"}' || true)
assert_contains "$out" "no such volume: nosuch"
api VolumeDriver.Unmount '{"Name":"nosuch","ID":"abc"}' | jq -e '.Err == ""' >/dev/null
out=$(api VolumeDriver.Remove '{"Name":"nosuch"}' || true)
assert_contains "$out" "no such volume"
out=$(api VolumeDriver.Mount '{"Name":"nosuch","ID":"abc"}' || true)
assert_contains "$out" "no such volume"

step "fuzz: 300 random bodies at random endpoints"
eps=(Plugin.Activate VolumeDriver.Create VolumeDriver.Remove VolumeDriver.Mount
    VolumeDriver.Unmount VolumeDriver.Path VolumeDriver.Get VolumeDriver.List
    VolumeDriver.Capabilities Nope)
frags=('{' '}' '[' ']' '"Name"' '"ID"' '"Opts"' ':' ',' 'null' '1e999' '"a/b"' '".."'
    '"fz"' '{"k":"v"}' '"\u0000"' '"\ud800"' 'true' '-0' '"size"' '"1G"' '"'
    '\' ' ' '"type"' '"secrets"' '"labels"' '"x=y"')
for i in $(seq 1 300); do
	ep=${eps[RANDOM % ${#eps[@]}]}
	case $((RANDOM % 3)) in
	0) head -c $((RANDOM % 300)) /dev/urandom > "$T/fz" ;;
	1) b=; for j in $(seq 1 $((RANDOM % 12))); do b+=${frags[RANDOM % ${#frags[@]}]}; done
	   printf '%s' "$b" > "$T/fz" ;;
	2) printf '{"Name":"fz%d","ID":"i","Opts":{"%s":"%s"}}' $((RANDOM % 3)) \
	       "${frags[RANDOM % ${#frags[@]}]//\"/}" "$RANDOM" > "$T/fz" ;;
	esac
	out=$(raw POST "/$ep" "$T/fz")
	st=${out%% *}
	case $st in
	200|400|404|413) ;;
	*) cp "$T/fz" "$T/fz.fail"; fail "fuzz $i $ep: status $st: $out (body: $(od -c "$T/fz" | head -5))" ;;
	esac
	# every non-200 answer carries an Err
	if [ "$st" != 200 ]; then
		echo "${out#* }" | jq -e '.Err | length > 0' >/dev/null ||
		    fail "fuzz $i $ep: status $st without Err: $out"
	fi
	kill -0 "$CEPHVOLD_PID" || fail "cephvold died during fuzz case $i ($ep)"
done
# fuzzing may have created fz0..fz2 through well-formed creates with
# valid options: remove those, then nothing else may exist
for n in fz fz0 fz1 fz2; do
	api VolumeDriver.Unmount "{\"Name\":\"$n\",\"ID\":\"i\"}" >/dev/null || true
	api VolumeDriver.Remove "{\"Name\":\"$n\"}" >/dev/null || true
done

step "nothing was created"
api VolumeDriver.List | jq -e '.Volumes == []' >/dev/null || fail "volumes left: $(api VolumeDriver.List)"
left=$(rados -p "$POOL" ls | grep -v '^cephvol.catalog$' || true)
[ -z "$left" ] || fail "objects left in $POOL: $left"
[ ! -e "$T/mnt/.." ] || [ -z "$(ls -A "$T/mnt")" ] || fail "mount root not empty: $(ls -A "$T/mnt")"

step "a 255-byte name is fine; the daemon still answers"
api VolumeDriver.Create "{\"Name\":\"$ok255\",\"Opts\":null}" | jq -e '.Err == ""' >/dev/null
api VolumeDriver.Get "{\"Name\":\"$ok255\"}" | jq -e ".Volume.Name == \"$ok255\"" >/dev/null
api VolumeDriver.Remove "{\"Name\":\"$ok255\"}" | jq -e '.Err == ""' >/dev/null
kill -0 "$CEPHVOLD_PID" || fail "cephvold died"
stop_cephvold
assert_eq "$CEPHVOLD_STATUS" 0 "cephvold exit status"

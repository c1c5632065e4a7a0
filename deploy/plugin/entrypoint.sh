#!/bin/sh
# entrypoint.sh - the managed plugin's first process (deploy/plugin/build.sh
# installs it as /usr/lib/cephvol/entrypoint; config.json's entrypoint is
# this, then the cephvold command line).
#
#   entrypoint CMD [ARG...]
#
# Runs CMD (cephvold) and, if a signal killed it (a crash, the OOM
# killer, a kill -9), runs it again a second later, as the systemd unit's
# Restart=on-failure does. This is why it exists: the plugin is a
# container, and when its first process ends the containerd shim kills
# every process left in it, so a cephvold that were the first process
# would take every mounted volume's cephvol-mount with it when it died. As
# it is, cephvold restarts under the same container, its cephvol-mount
# processes stay, and it finds their mounts intact ("kept").
#
# SIGTERM or SIGINT (docker plugin disable, dockerd stopping) is passed on
# to cephvold; once it has exited this exits 0. When CMD exits by itself
# (0, or 1 and 2 for a start-up or usage error) this exits with its status:
# a configuration error shows as a plugin that does not start, not as a
# loop.
stop=
pid=
trap 'stop=1; [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null' TERM INT
while :; do
	"$@" &
	pid=$!
	while :; do
		wait "$pid"
		status=$?
		# wait returns early (status > 128) when a trapped signal
		# arrives; the child is then still there (or a zombie)
		kill -0 "$pid" 2>/dev/null || break
	done
	pid=
	[ -z "$stop" ] || exit 0
	[ "$status" -gt 128 ] || exit "$status"
	echo "cephvol plugin: $1 killed by signal $((status - 128)); starting it again in 1 s" >&2
	sleep 1
	[ -z "$stop" ] || exit 0
done

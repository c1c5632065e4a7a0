#!/usr/bin/env bash
# rig_docker.sh - the test rig's dockerd works: a private dockerd in the
# test's temp dir answers `docker info` and runs the local busybox image
# without any registry.
# timeout: 120
. "$(dirname "$0")/../functions.sh"
requires_root
requires dockerd

start_dockerd

step "docker info"
info=$(docker info --format '{{.ServerVersion}} {{.Driver}} {{.DockerRootDir}}')
echo "$info"
assert_contains "$info" "overlay2 $T/docker/root"

step "docker run --rm --pull never localhost/busybox:test true"
docker run --rm --pull never localhost/busybox:test true

step "the image has a shell, users and PATH"
out=$(docker run --rm --pull never localhost/busybox:test sh -c 'id -un; echo $PATH; ls /bin/sh')
echo "$out"
assert_contains "$out" "root"
assert_contains "$out" "/bin/sh"

step "a container that fails reports its status"
status=0
docker run --rm --pull never localhost/busybox:test sh -c 'exit 3' || status=$?
assert_eq "$status" 3 "exit status of the container"

/*
 * attach_fallback.c - TEMPORARY weak stand-ins for the host mount pipeline
 * (attach.h) so cephvold links while volplugin/attach.c is a placeholder.
 *
 * DELETE THIS FILE as soon as attach.c defines attach_mount/unmount/status:
 * weak definitions here keep the linker from pulling attach.o out of
 * libcephvol.a, so the real pipeline would never be linked into cephvold.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "volplugin/attach.h"

#define FALLBACK_MSG	"cephvold was built without the mount pipeline " \
	"(volplugin/attach_fallback.c is linked; delete it now that attach.c exists)"

__attribute__((weak)) int
attach_mount(const struct attach_ctx *ctx, const struct volume_meta *m,
    const char *mountpoint, pid_t *helper_pid, char *err, size_t errlen)
{
	(void)ctx;
	(void)m;
	(void)mountpoint;
	*helper_pid = 0;
	snprintf(err, errlen, FALLBACK_MSG);
	return -ENOSYS;
}

__attribute__((weak)) int
attach_unmount(const struct attach_ctx *ctx, const struct volume_meta *m,
    const char *mountpoint, char *err, size_t errlen)
{
	(void)ctx;
	(void)m;
	(void)mountpoint;
	snprintf(err, errlen, FALLBACK_MSG);
	return -ENOSYS;
}

__attribute__((weak)) int
attach_status(const struct attach_ctx *ctx, const struct volume_meta *m,
    const char *mountpoint, struct attach_state *out)
{
	(void)ctx;
	(void)m;
	(void)mountpoint;
	memset(out, 0, sizeof(*out));
	return 0;
}

/* berth images/ — OCI whiteouts, written the way overlayfs reads them.
 *
 *   D/.wh..wh..opq   D is opaque: trusted.overlay.opaque=y on D (created if
 *                    missing), so no lower layer's children of D show through.
 *   D/.wh.NAME       NAME is deleted from lower layers: a 0/0 character device
 *                    D/NAME.  When NAME already exists in this layer the
 *                    whiteout is moot (same-layer entries are not hidden); a
 *                    later same-layer NAME simply replaces the device.
 *   D/.wh..wh.*      other AUFS bookkeeping (.wh..wh.plnk, ...): not content.
 * A whiteout naming nothing (".wh.", ".wh..", ".wh...") is refused: it would
 * resolve to D itself or to D's parent. */
#include "images/unpack.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"

#define WH_PREFIX ".wh."
#define WH_META_PREFIX ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"

bool berth_is_whiteout(const char *base)
{
	return !strncmp(base, WH_PREFIX, strlen(WH_PREFIX));
}

static int do_opaque(struct berth_unpacker *u, const char *dir, struct berth_err *err)
{
	int parent = berth_unpacker_parent(u, dir, err);
	if (parent < 0)
		return -1;
	/* The parent fd may be O_PATH; xattrs need a real open file. */
	_cleanup_close_ int fd = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berth_err_set(err, errno, "open opaque directory");
	if (fsetxattr(fd, "trusted.overlay.opaque", "y", 1, 0) < 0)
		return berth_err_set(err, errno, "set trusted.overlay.opaque");
	return 1;
}

static int do_whiteout(struct berth_unpacker *u, const char *dir, const char *base,
		       struct berth_err *err)
{
	const char *name = base + strlen(WH_PREFIX);
	if (!*name || !strcmp(name, ".") || !strcmp(name, "..") || strchr(name, '/'))
		return berth_err_set(err, 0, "invalid whiteout: it names no file (whiteouts are "
					     "\".wh.\" followed by the name of a file to delete)");
	int parent = berth_unpacker_parent(u, dir, err);
	if (parent < 0)
		return -1;
	berth_unpacker_invalidate(u);
	if (mknodat(parent, name, S_IFCHR | 0000, makedev(0, 0)) < 0) {
		if (errno == EEXIST)
			return 0; /* same-layer entries are not hidden */
		return berth_err_set(err, errno, "create whiteout device");
	}
	return 1;
}

int berth_whiteout_entry(struct berth_unpacker *u, const char *dir, const char *base,
			 struct berth_err *err)
{
	if (!strcmp(base, WH_OPAQUE))
		return do_opaque(u, dir, err);
	if (!strncmp(base, WH_META_PREFIX, strlen(WH_META_PREFIX)))
		return 0;
	return do_whiteout(u, dir, base, err);
}

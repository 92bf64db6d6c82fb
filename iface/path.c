/* SPDX-License-Identifier: MIT */
/*
 * Default socket paths: $XDG_RUNTIME_DIR/memenpsf/NAME.sock, or
 * /tmp/memenpsf-UID/NAME.sock. The directory is private (0700, ours).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "iface-private.h"

static int name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n < 1 || n > 64 || name[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return 0;
	}
	return 1;
}

/* The directory part of the default path, into buf. */
static int default_dir(char *buf, size_t cap)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (xdg && xdg[0] == '/')
		n = snprintf(buf, cap, "%s/memenpsf", xdg);
	else
		n = snprintf(buf, cap, "/tmp/memenpsf-%u",
			     (unsigned)geteuid());
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= cap)
		return -ENAMETOOLONG;
	return n;
}

int iface_default_path(char *buf, size_t cap, const char *name)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int n;

	if (!buf)
		return -EINVAL;
	if (!name)
		name = IFACE_DEFAULT_NAME;
	if (!name_ok(name))
		return -EINVAL;
	n = default_dir(dir, sizeof(dir));
	if (n < 0)
		return n;
	n = snprintf(buf, cap, "%s/%s.sock", dir, name);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= cap || (size_t)n >= sizeof(dir))
		return -ENAMETOOLONG;
	return n;
}

/* mkdir the private directory if needed and check it is ours and 0700. */
static int private_dir(void)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;
	int r = default_dir(dir, sizeof(dir));

	if (r < 0)
		return r;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 07777) != 0700)
		return -EACCES;
	return 0;
}

int path_resolve(char **out, const char *path, const char *name, int mkdir_dir)
{
	char buf[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int r;

	*out = NULL;
	if (path) {
		if (!path[0])
			return -EINVAL;
		if (strlen(path) >= sizeof(buf))
			return -ENAMETOOLONG;
		*out = strdup(path);
		return *out ? 0 : -ENOMEM;
	}
	r = iface_default_path(buf, sizeof(buf), name);
	if (r < 0)
		return r;
	if (mkdir_dir) {
		r = private_dir();
		if (r < 0)
			return r;
	}
	*out = strdup(buf);
	return *out ? 0 : -ENOMEM;
}

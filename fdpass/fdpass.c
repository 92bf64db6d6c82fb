/* SPDX-License-Identifier: MIT */
/*
 * What every file of libfdpass shares: the checks of the public constants
 * against the kernel's limits, socket addresses, and the one place that
 * decides which errors mean "the peer is gone".
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <memenpsf/fdpass.h>

#include "fdpass-private.h"

/* The kernel refuses more than SCM_MAX_FD (253) descriptors per message. */
_Static_assert(FDPASS_MAX_FDS >= 1 && FDPASS_MAX_FDS <= 253,
	       "FDPASS_MAX_FDS must fit the kernel's SCM_MAX_FD");

int fdpass_sockaddr(struct sockaddr_un *sa, socklen_t *len, const char *path)
{
	size_t n;

	if (!path || !*path)
		return -EINVAL;
	n = strlen(path);
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (path[0] == '@') {
		/* abstract: a leading NUL, then exactly the name's bytes */
		if (n == 1)
			return -EINVAL;
		if (n > sizeof(sa->sun_path))
			return -ENAMETOOLONG;
		memcpy(sa->sun_path + 1, path + 1, n - 1);
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
		return 0;
	}
	if (n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, n + 1);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

int fdpass_peer_gone(int sock, int err)
{
	int listening = 0;
	socklen_t len = sizeof(listening);

	switch (err) {
	case -EPIPE:
	case -ECONNRESET:
		return -EPIPE;
	case -ENOTCONN:
		/* a connection-mode socket whose peer hung up, or that never
		 * had one: no peer either way. A listening socket is the
		 * caller's mistake and keeps its own error. */
		if (getsockopt(sock, SOL_SOCKET, SO_ACCEPTCONN, &listening,
			       &len) == 0 &&
		    listening)
			return err;
		return -EPIPE;
	default:
		return err;
	}
}

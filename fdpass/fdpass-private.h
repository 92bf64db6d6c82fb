/* SPDX-License-Identifier: MIT */
/* Helpers shared by the files of libfdpass. Private, never installed. */
#ifndef MEMENPSF_FDPASS_PRIVATE_H
#define MEMENPSF_FDPASS_PRIVATE_H

#include <sys/socket.h>
#include <sys/un.h>

/*
 * Fill *sa and *len for path: "@name" is the abstract name "name" (no
 * trailing NUL counted), anything else a file path. 0, -EINVAL (NULL, empty,
 * or "@" alone), -ENAMETOOLONG (does not fit sun_path).
 */
int fdpass_sockaddr(struct sockaddr_un *sa, socklen_t *len, const char *path);

/* Map the errors that mean "no peer any more" to -EPIPE. */
int fdpass_peer_gone(int sock, int err);

#endif /* MEMENPSF_FDPASS_PRIVATE_H */

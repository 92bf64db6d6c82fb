/* SPDX-License-Identifier: MIT */
/*
 * Exec'd by tests/fdpass_test after fork: proves which descriptors crossed
 * exec. Usage:
 *   fdpass_cloexec_check GONE_FD DEV INO KEPT_FD DEV INO
 * GONE_FD must not refer to the object DEV:INO in this new image (it was
 * close-on-exec; the number may be reused by the runtime for something
 * else), KEPT_FD must refer to its object (it was not close-on-exec: the
 * control that shows the check can fail). Exit 0 when both hold.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static int refers_to(int fd, unsigned long long dev, unsigned long long ino)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

int main(int argc, char **argv)
{
	int gone, kept;

	if (argc != 7) {
		fprintf(stderr, "usage: %s GONE_FD DEV INO KEPT_FD DEV INO\n",
			argv[0]);
		return 2;
	}
	gone = atoi(argv[1]);
	kept = atoi(argv[4]);
	if (refers_to(gone, strtoull(argv[2], NULL, 10),
		      strtoull(argv[3], NULL, 10))) {
		fprintf(stderr, "fd %d survived exec\n", gone);
		return 1;
	}
	if (!refers_to(kept, strtoull(argv[5], NULL, 10),
		       strtoull(argv[6], NULL, 10))) {
		fprintf(stderr, "control fd %d did not survive exec\n", kept);
		return 1;
	}
	return 0;
}

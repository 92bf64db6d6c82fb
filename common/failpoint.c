/* SPDX-License-Identifier: MIT */
#include "failpoint.h"

#ifdef MEMENPSF_FAILPOINTS
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Hits of the armed failpoint in this process. A test harness, not library
 * state: it only exists in failpoint builds. */
static unsigned long hits;

int failpoint_hit(const char *name)
{
	const char *spec = getenv(FAILPOINT_ENV);
	size_t n = strlen(name);
	unsigned long want = 1;
	const char *p;

	if (!spec || strncmp(spec, name, n) != 0)
		return 0;
	p = spec + n;
	if (*p == '@') {
		char *end;

		want = strtoul(p + 1, &end, 10);
		p = end;
	}
	if (*p != '\0' && *p != '=')
		return 0; /* a longer name that shares our prefix */
	if (++hits != want)
		return 0;
	if (*p == '=' && strcmp(p + 1, "error") == 0)
		return 1;
	if (*p == '=' && strcmp(p + 1, "kill") == 0)
		raise(SIGKILL);
	_exit(FAILPOINT_EXIT_CODE);
}
#else
/* ISO C wants a translation unit to declare something. */
typedef int failpoint_unused;
#endif

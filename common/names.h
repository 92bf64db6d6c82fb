/* SPDX-License-Identifier: MIT */
/*
 * Symbol names of the internals that more than one library defines: the
 * helpers of common/ (compiled into each library) and the os_close /
 * os_eventfd that libfdpass, libipcq and libiface each have. The build
 * includes this header first in every library source (-include) and sets
 * MEMENPSF_LIB_PREFIX per library (memenpsf_fdpass_, ...), so each library's
 * copy has a name of its own: the static archives of two libraries link into
 * one program. The shared libraries hide all of them anyway.
 */
#ifndef MEMENPSF_NAMES_H
#define MEMENPSF_NAMES_H

#ifdef MEMENPSF_LIB_PREFIX
#define MEMENPSF_NAME2(p, n) p##n
#define MEMENPSF_NAME(p, n) MEMENPSF_NAME2(p, n)

#define mono_ns MEMENPSF_NAME(MEMENPSF_LIB_PREFIX, mono_ns)
#define deadline_start MEMENPSF_NAME(MEMENPSF_LIB_PREFIX, deadline_start)
#define deadline_left_ms MEMENPSF_NAME(MEMENPSF_LIB_PREFIX, deadline_left_ms)
#define deadline_expired MEMENPSF_NAME(MEMENPSF_LIB_PREFIX, deadline_expired)
#define failpoint_hit MEMENPSF_NAME(MEMENPSF_LIB_PREFIX, failpoint_hit)
#define os_close MEMENPSF_NAME(MEMENPSF_LIB_PREFIX, os_close)
#define os_eventfd MEMENPSF_NAME(MEMENPSF_LIB_PREFIX, os_eventfd)
#endif

#endif /* MEMENPSF_NAMES_H */

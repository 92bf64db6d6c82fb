/* SPDX-License-Identifier: MIT */
/*
 * Every failpoint of libipcq, in one place (common/failpoint.h explains how
 * a test arms one: MEMENPSF_FAILPOINT=NAME[@N][=exit|kill|error]).
 *
 * Fast path (FAILPOINT: exit / kill only). send uses push's, recv pop's.
 *   ipcq.push.after_copy        payload + len written, seq not published
 *   ipcq.push.after_publish     seq published, tail not stored
 *   ipcq.push.after_tail        tail stored, peer not woken
 *   ipcq.push_n.after_slot      @k: k-th slot copied and published
 *   ipcq.push_n.after_publish   all slots published, tail not stored
 *   ipcq.push_n.after_tail      tail stored, peer not woken
 *   ipcq.commit.after_slot      @k: k-th reserved slot published
 *   ipcq.commit.after_publish   all published (also commit_len), no tail
 *   ipcq.commit.after_tail      tail stored, peer not woken
 *   ipcq.pop.after_copy         element copied out, head not released
 *   ipcq.pop.after_release      head released, peer not woken
 *   ipcq.pop_n.after_slot       @k: k-th element copied out
 *   ipcq.pop_n.after_copy       all copied, head not released
 *   ipcq.pop_n.after_release    head released, peer not woken
 *   ipcq.release.before_release peeked slots not yet released
 *   ipcq.release.after_release  head released, peer not woken
 *
 * Set-up (FAILPOINT_ERR: =error makes the step fail with -EIO, and the test
 * checks that nothing leaked; exit / kill crash there).
 *   ipcq.create.after_memfd     ipcq.create.after_truncate
 *   ipcq.create.after_fallocate ipcq.create.after_map
 *   ipcq.create.before_seal     ipcq.create.after_seal
 *   ipcq.create.after_doorbells
 *   ipcq.create_path.after_tmpfile   ipcq.create_path.after_fallocate
 *   ipcq.create_path.after_init      ipcq.create_path.before_link
 *   ipcq.create_path.before_rename   (replacing: the file has a temporary
 *                                     name, path still the old file)
 *   ipcq.create_path.no_tmpfile      =error: act as on a file system
 *                                     without O_TMPFILE (named temp file)
 *   ipcq.open.after_map         ipcq.open.after_claim
 *   ipcq.attach.after_checks    ipcq.attach.after_map
 *   ipcq.share.before_send      ipcq.accept.after_recv
 */
#ifndef IPCQ_FAILPOINTS_H
#define IPCQ_FAILPOINTS_H

#include <errno.h>

#include "failpoint.h"

/* A set-up step that a test may make fail: needs int r and an err label. */
#define FP_STEP(name)                                                          \
	do {                                                                   \
		if (FAILPOINT_ERR(name)) {                                     \
			r = -EIO;                                              \
			goto err;                                              \
		}                                                              \
	} while (0)

#endif /* IPCQ_FAILPOINTS_H */

/* SPDX-License-Identifier: MIT */
/*
 * Definitions shared by the public memenpsf headers.
 */
#ifndef MEMENPSF_COMMON_H
#define MEMENPSF_COMMON_H

#if defined(__GNUC__) || defined(__clang__)
#define MEMENPSF_API __attribute__((visibility("default")))
#define MEMENPSF_MUST_USE __attribute__((warn_unused_result))
#else
#define MEMENPSF_API
#define MEMENPSF_MUST_USE
#endif

#endif /* MEMENPSF_COMMON_H */

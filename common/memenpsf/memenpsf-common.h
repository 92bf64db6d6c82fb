/* SPDX-License-Identifier: MIT */
/*
 * Definitions shared by the public memenpsf headers.
 */
#ifndef MEMENPSF_COMMON_H
#define MEMENPSF_COMMON_H

/* Calls into the libraries go through the GOT, not a PLT stub (GCC's
 * noplt, what -fno-plt does for every call): on a Zen 5 VM a PLT stub in a
 * loop that polls a ring cost a spinning round trip about 160 ns of 660
 * (bench/README.md, "The PLT stub"). Compilers without it use the PLT. */
#if defined(__has_attribute)
#if __has_attribute(noplt)
#define MEMENPSF_NOPLT __attribute__((noplt))
#endif
#endif
#ifndef MEMENPSF_NOPLT
#define MEMENPSF_NOPLT
#endif

#if defined(__GNUC__) || defined(__clang__)
#define MEMENPSF_API __attribute__((visibility("default"))) MEMENPSF_NOPLT
#define MEMENPSF_MUST_USE __attribute__((warn_unused_result))
#else
#define MEMENPSF_API
#define MEMENPSF_MUST_USE
#endif

#endif /* MEMENPSF_COMMON_H */

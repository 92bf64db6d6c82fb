/* SPDX-License-Identifier: MIT */
/* Private compiler helpers. Never included from a public header. */
#ifndef MEMENPSF_COMPILER_H
#define MEMENPSF_COMPILER_H

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CACHELINE 64

/* Busy-wait hint for spin loops. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/* Ask for the line holding p ahead of a load. On x86 an asm statement: GCC
 * 12's dead-code pass deleted a __builtin_prefetch whose address depends on
 * the ring's layout (libipcq's consumer prefetch vanished from the code). */
static inline void cache_prefetch(const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ __volatile__("prefetcht0 %0" : : "m"(*(const char *)p));
#else
	__builtin_prefetch(p);
#endif
}

#endif /* MEMENPSF_COMPILER_H */

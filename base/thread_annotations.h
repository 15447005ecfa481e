#pragma once
// Clang's thread-safety annotations (-Wthread-safety): which mutex guards which data, and which
// functions need it held, checked by the compiler. They expand to nothing under other compilers.
// The names follow Clang's documentation and Abseil.

#if defined(__clang__)
#define CW_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define CW_THREAD_ANNOTATION(x)
#endif

#define CW_CAPABILITY(x) CW_THREAD_ANNOTATION(capability(x))
#define CW_SCOPED_CAPABILITY CW_THREAD_ANNOTATION(scoped_lockable)
#define CW_GUARDED_BY(x) CW_THREAD_ANNOTATION(guarded_by(x))
#define CW_PT_GUARDED_BY(x) CW_THREAD_ANNOTATION(pt_guarded_by(x))
#define CW_REQUIRES(...) CW_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define CW_REQUIRES_SHARED(...) CW_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#define CW_ACQUIRE(...) CW_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define CW_ACQUIRE_SHARED(...) CW_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define CW_RELEASE(...) CW_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define CW_RELEASE_SHARED(...) CW_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define CW_RELEASE_GENERIC(...) CW_THREAD_ANNOTATION(release_generic_capability(__VA_ARGS__))
#define CW_EXCLUDES(...) CW_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define CW_NO_THREAD_SAFETY_ANALYSIS CW_THREAD_ANNOTATION(no_thread_safety_analysis)

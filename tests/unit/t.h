/* Minimal unit-test harness. Each test binary runs its cases and prints one
 * line per case: "PASS: name", "FAIL: name: why" or "SKIP: name: reason".
 * scripts/test.sh counts those lines. The binary exits non-zero on failure. */
#ifndef DISCO_TESTS_T_H
#define DISCO_TESTS_T_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct t_state {
    int failed_cases;
    int case_failed;
    int case_skipped;
    const char *case_name;
};
static struct t_state t_st;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            if (!t_st.case_failed)                                               \
                printf("FAIL: %s: %s:%d: %s\n", t_st.case_name, __FILE__,        \
                       __LINE__, #cond);                                         \
            t_st.case_failed = 1;                                                \
        }                                                                        \
    } while (0)

#define CHECK_EQ(a, b)                                                           \
    do {                                                                         \
        unsigned long long t_a_ = (unsigned long long)(a);                       \
        unsigned long long t_b_ = (unsigned long long)(b);                       \
        if (t_a_ != t_b_) {                                                      \
            if (!t_st.case_failed)                                               \
                printf("FAIL: %s: %s:%d: %s == %s (0x%llx != 0x%llx)\n",         \
                       t_st.case_name, __FILE__, __LINE__, #a, #b, t_a_, t_b_);  \
            t_st.case_failed = 1;                                                \
        }                                                                        \
    } while (0)

/* Run one case: a function `void fn(void)`. */
#define RUN(fn)                                                                  \
    do {                                                                         \
        t_st.case_name = #fn;                                                    \
        t_st.case_failed = 0;                                                    \
        t_st.case_skipped = 0;                                                   \
        fn();                                                                    \
        if (t_st.case_failed)                                                    \
            t_st.failed_cases++;                                                 \
        else if (!t_st.case_skipped)                                             \
            printf("PASS: %s\n", #fn);                                           \
        fflush(stdout);                                                          \
    } while (0)

#define SKIP(fn, reason)                                                         \
    do {                                                                         \
        printf("SKIP: %s: %s\n", #fn, reason);                                   \
    } while (0)

/* Inside a running case: it is skipped (reported as SKIP, not PASS). */
#define SKIP_CASE(reason)                                                        \
    do {                                                                         \
        printf("SKIP: %s: %s\n", t_st.case_name, reason);                        \
        t_st.case_skipped = 1;                                                   \
    } while (0)

#define T_EXIT() return t_st.failed_cases ? 1 : 0

#endif

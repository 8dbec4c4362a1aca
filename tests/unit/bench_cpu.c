/* CPU microbenchmarks (not a unit test; not built by `make`):
 *   cc -O2 -std=gnu11 -Isrc -Itests/unit -pthread tests/unit/bench_cpu.c \
 *      build/libdisco.a -lfdt -lm -o build/bench_cpu && build/bench_cpu
 * Prints MIPS for a few hand-assembled loops. */
#include <stdio.h>
#include <time.h>

#include "rv_test.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void bench(const char *name, struct tenv *e, uint64_t start, bool paging)
{
    struct rv_hart *h = e->h;
    h->pc = start;
    (void)paging;
    double t0 = now_s();
    uint64_t i0 = h->instret;
    int rc;
    do
        rc = rv_hart_run(h, 10000000);
    while (rc == RV_EXIT_BUDGET);
    double dt = now_s() - t0;
    uint64_t n = h->instret - i0;
    printf("%-28s %10llu insns %7.3f s %8.1f MIPS (exit %d)\n", name, (unsigned long long)n, dt,
           (double)n / dt / 1e6, rc);
}

int main(void)
{
    /* 1. tight ALU loop */
    {
        struct tenv *e = tenv_new();
        struct prog p = {e, RAM_BASE};
        li(&p, A0, 50000000);
        li(&p, A1, 0);
        uint64_t loop = p.pc;
        emit(&p, ADDI(A1, A1, 3));
        emit(&p, XOR(A2, A1, A0));
        emit(&p, ADD(A3, A2, A1));
        emit(&p, ADDI(A0, A0, -1));
        emit(&p, BNE(A0, 0, (int32_t)(loop - p.pc)));
        emit(&p, WFI);
        bench("alu loop", e, RAM_BASE, false);
        tenv_free(e);
    }
    /* 2. memory loop: load/add/store over a 64 KiB buffer */
    {
        struct tenv *e = tenv_new();
        struct prog p = {e, RAM_BASE};
        li(&p, S0, 2000);                       /* outer */
        uint64_t outer = p.pc;
        li(&p, S1, RAM_BASE + 0x100000);
        li(&p, S2, 8192);                       /* 64 KiB / 8 */
        uint64_t inner = p.pc;
        emit(&p, LD(T0, S1, 0));
        emit(&p, ADDI(T0, T0, 1));
        emit(&p, SD(T0, S1, 0));
        emit(&p, ADDI(S1, S1, 8));
        emit(&p, ADDI(S2, S2, -1));
        emit(&p, BNE(S2, 0, (int32_t)(inner - p.pc)));
        emit(&p, ADDI(S0, S0, -1));
        emit(&p, BNE(S0, 0, (int32_t)(outer - p.pc)));
        emit(&p, WFI);
        bench("load/store loop", e, RAM_BASE, false);
        tenv_free(e);
    }
    /* 3. calls across pages: a chain of functions on different pages */
    {
        struct tenv *e = tenv_new();
        struct prog p = {e, RAM_BASE};
        li(&p, S0, 5000000);
        uint64_t loop = p.pc;
        for (int f = 1; f <= 4; f++) {
            li(&p, T0, (int64_t)(RAM_BASE + (uint64_t)f * 0x1000));
            emit(&p, JALR(RA, T0, 0));
        }
        emit(&p, ADDI(S0, S0, -1));
        emit(&p, BNE(S0, 0, (int32_t)(loop - p.pc)));
        emit(&p, WFI);
        for (int f = 1; f <= 4; f++) {
            struct prog q = {e, RAM_BASE + (uint64_t)f * 0x1000};
            emit(&q, ADDI(A0, A0, 1));
            emit(&q, ADDI(A1, A1, 2));
            emit(&q, JALR(0, RA, 0));
        }
        bench("cross-page calls", e, RAM_BASE, false);
        tenv_free(e);
    }
    /* 4. same ALU loop under Sv39 in S-mode (fetch via the TLB) */
    {
        struct tenv *e = tenv_new();
        uint64_t root = RAM_BASE + 0x200000;
        memset(ram_ptr(e, root), 0, 4096);
        /* 1 GiB identity superpage for 0x80000000 */
        w64(e, root + 2 * 8, (RAM_BASE >> 12) << 10 | 0xcf);
        struct prog p = {e, RAM_BASE};
        li(&p, A0, 50000000);
        li(&p, S1, RAM_BASE + 0x100000);
        uint64_t loop = p.pc;
        emit(&p, LD(T0, S1, 0));
        emit(&p, ADDI(T0, T0, 1));
        emit(&p, SD(T0, S1, 0));
        emit(&p, ADDI(A0, A0, -1));
        emit(&p, BNE(A0, 0, (int32_t)(loop - p.pc)));
        emit(&p, WFI);
        e->h->p->satp = (8ull << 60) | root >> 12;
        e->h->priv = RV_PRIV_S;
        rv_tlb_flush_all(e->h);
        rv_update_mmu_idx(e->h);
        bench("sv39 S-mode ld/st loop", e, RAM_BASE, true);
        tenv_free(e);
    }
    return 0;
}

/* The device tree of the virt board, shaped like QEMU virt's (same nodes,
 * names, compatibles, phandle wiring), built with libfdt. */
#ifndef DISCO_MACHINE_FDT_H
#define DISCO_MACHINE_FDT_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* riscv,isa for every cpu node: what the CPU core implements. */
#define BOARD_FDT_ISA "rv64imafdc_zicsr_zifencei_zba_zbb_zbs"
#define BOARD_FDT_MMU "riscv,sv48"

struct board_fdt_params {
    unsigned nharts;
    uint64_t ram_base, ram_size;
    const char *bootargs;            /* NULL: no bootargs property */
    uint64_t initrd_start, initrd_end; /* both 0: no initrd properties */
    const char *isa;                 /* NULL: BOARD_FDT_ISA */
    const char *mmu_type;            /* NULL: BOARD_FDT_MMU */
    unsigned extra_space;            /* free bytes left inside the blob for
                                        firmware fix-ups (OpenSBI) */
};

/* Build the blob into a malloc'd buffer (*out, fdt_totalsize bytes). */
int board_fdt_build(const struct board_fdt_params *p, void **out, size_t *out_size,
                    struct disco_err *err);

#endif

/* Image loaders: every byte read from a file is bounds-checked against the
 * file and against guest RAM, so a truncated, corrupt or hostile file gives
 * an error naming the file, never a crash or a write outside RAM. All
 * writes go through the pmap (so decoded-code caches hear about them). */
#ifndef DISCO_MACHINE_LOADER_H
#define DISCO_MACHINE_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "mem/pmap.h"
#include "util/err.h"

#define EM_RISCV_NUM 243

/* Linux RISC-V `Image` header (Documentation/riscv/boot-image-header.rst). */
#define RISCV_IMAGE_MAGIC "RISCV\0\0\0"  /* at 0x30, deprecated */
#define RISCV_IMAGE_MAGIC2 "RSC\x05"     /* at 0x38 */
#define RISCV_IMAGE_HEADER_SIZE 64

struct loaded_kernel {
    uint64_t addr;      /* where the first byte went */
    uint64_t size;      /* footprint reserved (Image's image_size, ELF span) */
    uint64_t entry;
};

/* A Linux kernel: an `Image` (placed at `addr`) or an ELF vmlinux (its
 * PT_LOAD segments, placed at their paddr if that is RAM, else relative to
 * `addr`). */
int loader_load_kernel(struct pmap *pm, const char *path, uint64_t addr,
                       struct loaded_kernel *out, struct disco_err *err);

/* Size of a regular file (for placing an initrd before loading it); `what`
 * names it in messages. */
int loader_file_size(const char *path, const char *what, uint64_t *size, struct disco_err *err);

/* A raw file (initrd, firmware) copied to [addr, addr + size); at most
 * max_size bytes allowed. `what` names it in messages ("initrd"). */
int loader_load_raw(struct pmap *pm, const char *path, const char *what, uint64_t addr,
                    uint64_t max_size, uint64_t *size, struct disco_err *err);

/* True if the file starts with the ELF magic (false on any error). */
bool loader_is_elf(const char *path);

struct loaded_elf {
    uint64_t entry;
    uint64_t lo, hi;             /* lowest paddr / end of highest segment */
    bool has_tohost, has_fromhost;
    uint64_t tohost, fromhost;   /* HTIF symbols from .symtab */
};

/* A bare-metal ELF64 RISC-V executable: PT_LOAD segments at their paddr
 * (which must be RAM), .bss zero-filled, tohost/fromhost looked up. */
int loader_load_elf(struct pmap *pm, const char *path, struct loaded_elf *out,
                    struct disco_err *err);

#endif

/* The built-in SBI (spec v1.0): what a Linux kernel started directly in
 * S-mode calls instead of OpenSBI. Implemented extensions: BASE, TIME,
 * IPI, RFENCE (fence.i / sfence.vma; hfence -> NOT_SUPPORTED), HSM (start,
 * stop, status, retentive suspend), SRST, DBCN, and legacy 0x00-0x08.
 * Impl ID: BOARD_SBI_IMPL_ID (0xD15C0, "disco"), impl version 1. */
#ifndef DISCO_MACHINE_SBI_H
#define DISCO_MACHINE_SBI_H

#include <stdbool.h>

#include "riscv/hart.h"

struct board;

/* Extension IDs. */
#define SBI_EXT_BASE 0x10
#define SBI_EXT_TIME 0x54494D45
#define SBI_EXT_IPI 0x735049
#define SBI_EXT_RFENCE 0x52464E43
#define SBI_EXT_HSM 0x48534D
#define SBI_EXT_SRST 0x53525354
#define SBI_EXT_DBCN 0x4442434E
#define SBI_EXT_LEGACY_LAST 0x08

/* Error codes (returned in a0). */
#define SBI_SUCCESS 0
#define SBI_ERR_FAILED (-1)
#define SBI_ERR_NOT_SUPPORTED (-2)
#define SBI_ERR_INVALID_PARAM (-3)
#define SBI_ERR_DENIED (-4)
#define SBI_ERR_INVALID_ADDRESS (-5)
#define SBI_ERR_ALREADY_AVAILABLE (-6)
#define SBI_ERR_ALREADY_STARTED (-7)
#define SBI_ERR_ALREADY_STOPPED (-8)

#define SBI_SPEC_VERSION ((1u << 24) | 0u)  /* v1.0 */

/* Handle the ECALL hart `h` just made from S-mode (a7 = extension, a6 =
 * function, a0..a5 = arguments; result in a0 (error) and a1 (value),
 * legacy calls only a0). Always returns true (handled). */
bool sbi_handle(struct board *b, struct rv_hart *h);

#endif

/* Shared by the test guests (tests/guests/*.S): SBI call numbers. */
#ifndef DISCO_TEST_GUEST_H
#define DISCO_TEST_GUEST_H

#define SBI_LEGACY_SET_TIMER 0x00
#define SBI_LEGACY_PUTCHAR 0x01
#define SBI_LEGACY_GETCHAR 0x02
#define SBI_EXT_TIME 0x54494D45
#define SBI_EXT_SRST 0x53525354
#define SRST_SHUTDOWN 0
#define SRST_REASON_NONE 0
#define SRST_REASON_FAILURE 1
#define SSTATUS_SIE 0x2

#endif

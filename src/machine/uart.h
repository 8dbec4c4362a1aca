/* NS16550A UART (QEMU virt: 0x10000000, irq 10). Output bytes go to a
 * sink callback; input bytes are pushed with uart_input (from the console
 * loop) into a receive FIFO. */
#ifndef DISCO_MACHINE_UART_H
#define DISCO_MACHINE_UART_H

#include <stddef.h>
#include <stdint.h>

#include "machine/device.h"

#define UART_SIZE 0x100

typedef void (*uart_sink)(void *ctx, const uint8_t *buf, size_t len);

struct uart;
struct uart *uart_new(struct irq_line irq, uart_sink sink, void *sink_ctx);
void uart_free(struct uart *u);
/* Queue received bytes; returns how many fitted (the rest: try later). */
size_t uart_input(struct uart *u, const uint8_t *buf, size_t len);
/* Free space in the receive FIFO. */
size_t uart_input_room(struct uart *u);
extern const struct mmio_ops uart_mmio_ops;

#endif

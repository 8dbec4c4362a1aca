# Test guests: every tests/guests/*.S but lib.S becomes $(BUILD)/guests/NAME.elf,
# an S-mode program linked at 0x80200000 with tests/guests/lib.S, bootable as
# a guest `kernel` by the built-in SBI. Included by the top-level Makefile;
# variables are prefixed GUEST_. Built by `make` (all) and `make guests`.

GUEST_CC     ?= riscv64-unknown-elf-gcc
GUEST_DIR    := tests/guests
GUEST_CFLAGS := -march=rv64gc -mabi=lp64d -mcmodel=medany -mno-relax \
                -nostdlib -nostartfiles -static -I$(GUEST_DIR) \
                -T $(GUEST_DIR)/link.ld -Wl,--no-warn-rwx-segments
GUEST_SRCS   := $(filter-out $(GUEST_DIR)/lib.S,$(wildcard $(GUEST_DIR)/*.S))
GUEST_ELFS   := $(GUEST_SRCS:$(GUEST_DIR)/%.S=$(BUILD)/guests/%.elf)
GUEST_DEPS   := $(GUEST_DIR)/lib.S $(GUEST_DIR)/guest.h $(GUEST_DIR)/link.ld \
                $(GUEST_DIR)/guests.mk

.PHONY: guests
guests: $(GUEST_ELFS)
all: $(GUEST_ELFS)

$(BUILD)/guests/%.elf: $(GUEST_DIR)/%.S $(GUEST_DEPS)
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -o $@ $< $(GUEST_DIR)/lib.S

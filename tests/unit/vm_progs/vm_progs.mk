# Small bare-metal programs for tests/unit/test_vm.c: $(BUILD)/vm_progs/*.elf
# (riscv64-unknown-elf toolchain; without it the test skips its cases).
# Included by the top-level Makefile; variables are prefixed VMP_.
VMP_CC     ?= riscv64-unknown-elf-gcc
VMP_DIR    := tests/unit/vm_progs
VMP_CFLAGS := -march=rv64gc -mabi=lp64d -mcmodel=medany -mno-relax -nostdlib -nostartfiles \
              -static -ffreestanding -fno-builtin -O2 -T tests/isa/link.ld \
              -Wl,--no-warn-rwx-segments
VMP_OUT    := $(BUILD)/vm_progs
VMP_ELFS   := $(addprefix $(VMP_OUT)/,exit0.elf exit5.elf spin.elf poweroff.elf fail7.elf \
              reboot.elf uart_echo.elf agent_echo.elf share_fill.elf swap_pattern.elf)

.PHONY: vm-progs
vm-progs: $(VMP_ELFS)
ifneq ($(shell command -v $(VMP_CC)),)
all: vm-progs
$(BUILD)/tests/unit/test_vm: | vm-progs
$(BUILD)/tests/unit/test_memctl: | vm-progs
endif

$(VMP_OUT)/exit%.elf: $(VMP_DIR)/exit.S $(VMP_DIR)/vm_progs.mk
	@mkdir -p $(dir $@)
	$(VMP_CC) $(VMP_CFLAGS) -DCODE=$* -o $@ $<
$(VMP_OUT)/poweroff.elf: $(VMP_DIR)/syscon.S $(VMP_DIR)/vm_progs.mk
	@mkdir -p $(dir $@)
	$(VMP_CC) $(VMP_CFLAGS) -DVALUE=0x5555 -o $@ $<
$(VMP_OUT)/fail7.elf: $(VMP_DIR)/syscon.S $(VMP_DIR)/vm_progs.mk
	@mkdir -p $(dir $@)
	$(VMP_CC) $(VMP_CFLAGS) -DVALUE=0x73333 -o $@ $<
$(VMP_OUT)/reboot.elf: $(VMP_DIR)/syscon.S $(VMP_DIR)/vm_progs.mk
	@mkdir -p $(dir $@)
	$(VMP_CC) $(VMP_CFLAGS) -DVALUE=0x7777 -o $@ $<
$(VMP_OUT)/%.elf: $(VMP_DIR)/%.S $(VMP_DIR)/vm_progs.mk
	@mkdir -p $(dir $@)
	$(VMP_CC) $(VMP_CFLAGS) -o $@ $<
$(VMP_OUT)/%.elf: $(VMP_DIR)/%.c $(VMP_DIR)/vm_progs.mk
	@mkdir -p $(dir $@)
	$(VMP_CC) $(VMP_CFLAGS) -Wall -Wextra -o $@ $<

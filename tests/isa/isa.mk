# ISA tests: every tests/isa/*.S becomes $(BUILD)/isa/NAME.elf, linked with
# the shared runtime (tests/isa/lib/runtime.S) at 0x80000000.
# Included by the top-level Makefile; all variables are prefixed ISA_.
#   make isa            build them all
#   make isa-dump       also write NAME.dump (objdump -d) next to each ELF
#   scripts/isa-tests.sh [BUILD_DIR]   build and run them

ISA_CC      ?= riscv64-unknown-elf-gcc
ISA_OBJDUMP ?= riscv64-unknown-elf-objdump
ISA_DIR     := tests/isa
ISA_CFLAGS  := -march=rv64gc -mabi=lp64d -mcmodel=medany -mno-relax \
               -nostdlib -nostartfiles -static -I$(ISA_DIR) \
               -T $(ISA_DIR)/link.ld -Wl,--no-warn-rwx-segments
ISA_SRCS    := $(wildcard $(ISA_DIR)/*.S)
ISA_ELFS    := $(ISA_SRCS:$(ISA_DIR)/%.S=$(BUILD)/isa/%.elf)
ISA_DUMPS   := $(ISA_ELFS:.elf=.dump)
ISA_RUNTIME := $(ISA_DIR)/lib/runtime.S
ISA_DEPS    := $(ISA_RUNTIME) $(ISA_DIR)/link.ld $(ISA_DIR)/isa.mk \
               $(wildcard $(ISA_DIR)/*.h)

.PHONY: isa isa-dump
isa: $(ISA_ELFS)
isa-dump: $(ISA_DUMPS)

$(BUILD)/isa/%.elf: $(ISA_DIR)/%.S $(ISA_DEPS)
	@mkdir -p $(dir $@)
	$(ISA_CC) $(ISA_CFLAGS) -o $@ $< $(ISA_RUNTIME)

$(BUILD)/isa/%.dump: $(BUILD)/isa/%.elf
	$(ISA_OBJDUMP) -d $< > $@

# disco build. `make` builds build/disco; `make SAN=1` builds an ASan+UBSan
# tree in build-san/. Sources are picked up by wildcard: adding a file to a
# src/ subsystem needs no Makefile change.
SAN ?= 0
ifeq ($(SAN),1)
BUILD ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT ?= -O1
else
BUILD ?= build
SANFLAGS :=
OPT ?= -O2
endif

CC ?= cc
CFLAGS := -std=gnu11 $(OPT) -g -Wall -Wextra -Werror -pthread -Isrc -Iinclude $(SANFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := -pthread $(SANFLAGS)
LDLIBS := -lfdt -ljson-c -lxxhash -lzstd -lcap -lseccomp -lmnl -lm

# libdisco.a is everything but the command (cli/) and the daemon (daemon/),
# which link against it.
LIB_SRCS := $(filter-out src/cli/% src/daemon/%,$(wildcard src/*/*.c))
CLI_SRCS := $(wildcard src/cli/*.c src/daemon/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)

.PHONY: all unit clean
all: $(BUILD)/disco $(BUILD)/disco-oci $(UNIT_BINS)
unit: $(UNIT_BINS)

$(BUILD)/libdisco.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/disco: $(CLI_OBJS) $(BUILD)/libdisco.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(BUILD)/libdisco.a $(LDLIBS)

# The OCI runtime under the name podman's --runtime is pointed at.
$(BUILD)/disco-oci: $(BUILD)/disco
	ln -sf disco $@

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libdisco.a $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libdisco.a $(LDFLAGS) $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d)
# ISA tests (assembly, riscv64-unknown-elf toolchain) add their rules here.
-include tests/isa/isa.mk

clean:
	rm -rf build build-san
-include guest/agent/agent.mk
-include tests/guests/guests.mk
-include tests/unit/vm_progs/vm_progs.mk
-include tests/ct/progs/progs.mk

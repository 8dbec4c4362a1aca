# Attack programs for the container security tests (tests/ct/*.sh): small
# static C programs copied into a container's root, $(BUILD)/ct-progs/<name>.
# Each exits 0 when its attack failed and prints "ESCAPED: ..." (non-zero
# exit) when it worked. Included by the top-level Makefile; `make` builds
# them (an extra prerequisite of all). Variables are prefixed CTP_.
CTP_DIR    := tests/ct/progs
CTP_OUT    := $(BUILD)/ct-progs
CTP_CFLAGS := -std=gnu11 -D_GNU_SOURCE -static -O2 -Wall -Wextra -Werror
CTP_SRCS   := $(wildcard $(CTP_DIR)/*.c)
CTP_BINS   := $(CTP_SRCS:$(CTP_DIR)/%.c=$(CTP_OUT)/%)

.PHONY: ct-progs
ct-progs: $(CTP_BINS)
all: ct-progs

$(CTP_OUT)/%: $(CTP_DIR)/%.c $(CTP_DIR)/ct_prog.h $(CTP_DIR)/progs.mk
	@mkdir -p $(dir $@)
	gcc $(CTP_CFLAGS) -o $@ $<

# The guest agent built natively for the host, so tests/unit/test_agent can
# run the real program over a socketpair (guest/build.sh builds the riscv64
# one for the guest). Included by the top-level Makefile.
$(BUILD)/tests/disco-agent-native: guest/agent/agent.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(OPT) -g -Wall -Wextra -Werror $(SANFLAGS) -o $@ $<

$(BUILD)/tests/unit/test_agent: $(BUILD)/tests/disco-agent-native
all unit: $(BUILD)/tests/disco-agent-native

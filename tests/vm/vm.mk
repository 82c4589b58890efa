# VM harness targets (placeholder until tests/vm lands).
.PHONY: deps-vm
deps-vm:
	@true

# The VM harness (tests/vm/, see tests/vm/README.md): berth's integration
# tests run inside Debian's kernel under qemu, with cgroup v2 unified and the
# cpu, memory and pids controllers, whatever the host's cgroup layout.
#
#   make deps-vm                      qemu + the guest kernel (part of make deps)
#   make vm-test                      every tests/integration/test_*.py, one boot
#   make vm-test T=test_isolation.py  one file (T=test_x.py:name for one test;
#                                     several specs separated by spaces)
#   make vm-shell                     interactive shell in the guest
#   make vm-run CMD='...'             run a command in the guest (repo dir)
#   make vm-initramfs                 (re)build the cached initramfs

VM_PY := /usr/bin/python3 tests/vm/vm.py
export BERTH_VM_DIR ?= $(abspath $(BUILD))/vm

.PHONY: deps-vm vm-test vm-shell vm-run vm-initramfs

# After deps-host: both use apt (one dpkg lock) and the initramfs needs busybox-static.
deps-vm: deps-host
	tests/vm/deps.sh $(BERTH_VM_DIR)

vm-initramfs:
	@$(VM_PY) initramfs

vm-test: bin/berth $(BUILD)/probe
	@$(VM_PY) test $(T)

vm-shell:
	@$(VM_PY) shell

vm-run: export BERTH_VM_CMD := $(value CMD)
vm-run:
	@[ -n "$$BERTH_VM_CMD" ] || { echo "usage: make vm-run CMD='command ...'" >&2; exit 2; }
	@$(VM_PY) run "$$BERTH_VM_CMD"

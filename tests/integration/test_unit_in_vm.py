#!/usr/bin/env python3
"""Unit-test binaries whose real-kernel parts need cgroup v2 or kernel
features this host lacks (they register those tests only where they are
usable), run again here inside the VM so those cases count in `make test`."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REPO, ok, run_all, skip, test  # noqa: E402


def run_unit(name, must_have):
    binary = os.path.join(REPO, "build", "tests", name)
    if not os.path.exists(binary):
        skip("%s not built (make %s)" % (name, "build/tests/" + name))
    with open("/sys/fs/cgroup/cgroup.controllers") as f:
        if not {"cpu", "memory", "pids"} <= set(f.read().split()):
            skip("no cgroup v2 controllers here (runs in the VM)")
    env = dict(os.environ, CMOCKA_MESSAGE_OUTPUT="TAP")
    p = subprocess.run([binary], capture_output=True, text=True, env=env, timeout=600)
    failed = [l for l in p.stdout.splitlines() if l.startswith("not ok")]
    ok(p.returncode == 0 and not failed, "%s: rc %d\n%s%s" % (name, p.returncode, p.stdout,
                                                               p.stderr))
    for t in must_have:
        ok(any(l.startswith("ok ") and l.endswith(" " + t) for l in p.stdout.splitlines()),
           "%s did not run %s:\n%s" % (name, t, p.stdout))


@test
def netns_nft_bridge_table_real_kernel(t):
    # The host kernel has no nft_meta_bridge: reconcile and the behavioural
    # test (security groups, DNAT, hairpin across namespaces) run here.
    run_unit("test_netns_nft", ["test_reconcile_skeleton", "test_reconcile_leases", "test_hostile_ids",
                                "test_behaviour"])


@test
def runtime_cgroup_real_kernel(t):
    run_unit("test_runtime_cgroup", ["test_real_create_limits", "test_real_freezer_fallback", "test_real_oom"])


if __name__ == "__main__":
    run_all()

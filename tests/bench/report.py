"""Render the benchmark results (vmbench.py + unpack.py JSON) as markdown.

    /usr/bin/python3 tests/bench/report.py build/bench/latest.json   (re-render)"""
import json
import sys

TCG = "VM, qemu TCG"


def f1(x):
    return "–" if x is None else "%.1f" % x


def f2(x):
    return "–" if x is None else "%.2f" % x


def ratio(a, b):
    if not a or not b:
        return None
    return a / b


def rx(r):
    return "–" if r is None else "%.2f×" % r


def machine_lines(res):
    out = []
    h = res.get("host_machine")
    if h:
        out.append("- **Host**: kernel %s, %d CPUs (%s), %d MiB RAM; load %s at start; "
                   "other qemu processes seen: %s." % (
                       h["kernel"], h["cpus"], h["model"], h["mem_mib"], " ".join(h["loadavg"]),
                       res.get("busy_summary", "not checked")))
    vm = res.get("vm")
    if vm:
        m = vm["machine"]
        out.append("- **VM**: Debian kernel %s under qemu %s (no KVM: every instruction "
                   "emulated; absolute times are inflated, ratios are what count), %d vCPUs, "
                   "%d MiB, cgroup v2 with %s; %s, %s." % (
                       m["kernel"], m.get("accel", "TCG"), m["cpus"], m["mem_mib"],
                       " ".join(m.get("cgroup_controllers", [])), m.get("crun"), m.get("runc")))
    out.append("- **berth**: commit %s; date %s." % (res.get("commit", "?"), res.get("date", "?")))
    return out


LAT_LABELS = [
    ("berth", "`berth run --rm IMAGE /bin/true`"),
    ("berth+trace", "same, with `BERTH_TRACE` set"),
    ("crun", "`crun run` (bundle, same rootfs)"),
    ("runc", "`runc run` (bundle, same rootfs)"),
    ("crun+seccomp", "`crun run` + berth's seccomp allowlist"),
]

PHASES = [
    ("spawn>start", "exec of `berth` until its first instruction of ours (ld.so, libc init)"),
    ("start>run_accepted", "argument parsing, stdio and signal set-up"),
    ("run_accepted>image_ready", "open the image store, read the image record and config (sha256 check)"),
    ("image_ready>cgroup_ready", "containers lock, name check, admission, task cgroups, state.json"),
    ("cgroup_ready>rootfs_mounted", "overlay rootfs (detached mount)"),
    ("rootfs_mounted>seccomp_ready", "seccomp program from the cache"),
    ("seccomp_ready>clone3_returned", "user lookup, environment, caps plan, socketpair, clone3"),
    ("clone3_returned>exec_confirmed", "the child's setup (lo, mounts, pivot_root, caps, seccomp) until execve"),
    ("exec_confirmed>exited", "the container's `/bin/true` runs and is reaped"),
    ("exited>finished", "`--rm`: OOM check, cgroup removal, record and upper dir removed"),
    ("finished>reaped", "`berth` exits and the harness reaps it"),
]


def latency_md(lat):
    s = lat["series"]
    out = ["## Start latency (%s)" % TCG, "",
           "busybox rootfs, `/bin/true`, %d runs each after %d warm-up rounds, interleaved "
           "(berth, berth traced, crun, runc, crun+seccomp, berth, ...), fresh container id "
           "per run, deleted after (`--rm`; `crun/runc run` delete on exit). Wall time from "
           "spawn to reap, in ms." % (lat["n"], lat["warmup"]), "",
           "| runtime | p50 | p90 | p99 | min | berth ÷ this (p50 / p90 / p99) | failed |",
           "|---|---|---|---|---|---|---|"]
    b = s.get("berth", {})
    for key, label in LAT_LABELS:
        if key not in s or not s[key].get("n"):
            continue
        x = s[key]
        rat = "" if key.startswith("berth") else "%s / %s / %s" % (
            rx(ratio(b.get("p50"), x["p50"])), rx(ratio(b.get("p90"), x["p90"])),
            rx(ratio(b.get("p99"), x["p99"])))
        out.append("| %s | %s | %s | %s | %s | %s | %d |" % (
            label, f1(x["p50"]), f1(x["p90"]), f1(x["p99"]), f1(x["min"]), rat,
            lat["fails"].get(key, 0)))
    ip = lat.get("inprocess", {})
    if ip.get("n"):
        out.append("| **berth in-process start** (run request accepted → exec confirmed, "
                   "from the trace) | %s | %s | %s | %s | | |" % (
                       f2(ip["p50"]), f2(ip["p90"]), f2(ip["p99"]), f2(ip["min"])))
    out += ["", "A ratio below 1 means berth is faster.  The peers' bundles are `crun spec` "
            "adjusted to berth's work: no terminal, namespaces mount, pid, uts, ipc, net "
            "(lo only) and cgroup, Docker's 14 capabilities, no_new_privs, RLIMIT_NOFILE "
            "65535, a writable root, `pids.max` 4096, their default masked/read-only paths "
            "and device rules; no seccomp unless stated.  berth additionally builds an "
            "overlayfs root per container, loads its seccomp filter, and keeps a record."]
    ph = lat.get("phases", {})
    if ph:
        out += ["", "### Where `berth run --rm` spends its time (%s, trace timestamps, %d runs)"
                % (TCG, lat.get("trace_runs", 0)), "",
                "| phase | p50 ms | p90 ms | what happens |", "|---|---|---|---|"]
        extra = {"spawn>start": lat.get("pre_start"), "finished>reaped": lat.get("post_finish")}
        for key, what in PHASES:
            x = extra.get(key) if key in extra else ph.get(key)
            if not x or not x.get("n"):
                continue
            out.append("| %s | %s | %s | %s |" % (key.replace(">", " → "), f1(x["p50"]),
                                                  f1(x["p90"]), what))
    return out


def throughput_md(t):
    out = ["## Throughput (%s)" % TCG, "",
           "%d tasks (`/bin/true`) started at once (at most %d in flight), wall time until "
           "all have exited; median of %d rounds, runtimes interleaved." % (
               t["tasks"], t["par"], t["reps"]), "",
           "| runtime | wall ms | tasks/s | berth ÷ this (wall) | rounds (ms) | failed |",
           "|---|---|---|---|---|---|"]
    b = t["series"].get("berth", {}).get("wall_ms")
    for k, x in t["series"].items():
        out.append("| %s | %.0f | %.1f | %s | %s | %d |" % (
            k, x["wall_ms"], x["tasks_per_s"], "" if k == "berth" else rx(ratio(b, x["wall_ms"])),
            " ".join("%.0f" % v for v in x["all_ms"]), t["fails"].get(k, 0)))
    return out


def overhead_md(o):
    d = o["meminfo_delta_per_task_kb"]
    out = ["## Per-task host overhead (%s)" % TCG, "",
           "%d idle tasks (`berth run --rm IMAGE sleep 600`, each `berth run` in the "
           "background is that task's monitor); %d running after %.0f s.  Memory after "
           "`drop_caches`, before and after." % (o["tasks"], o["running"], o["start_s"]), "",
           "| measure | per task |", "|---|---|",
           "| **summed PSS of all berth processes ÷ %d** (%d processes) | **%.0f kB** |" % (
               o["tasks"], o["berth_processes"], o["berth_pss_per_task_kb"]),
           "| one monitor: RSS / anonymous PSS (median) | %.0f kB / %.0f kB |" % (
               o["monitor_rss_kb"] or 0, o["monitor_pss_anon_kb"] or 0),
           "| the container's own process (busybox `sleep`) PSS | %.0f kB |" %
           o["container_pss_per_task_kb"],
           "| MemAvailable drop ÷ %d (everything: processes, kernel, tmpfs) | %.0f kB |" % (
               o["tasks"], d.get("MemAvailable", 0)),
           "| kernel: Slab (unreclaimable) + KernelStack + PageTables + Percpu | "
           "%.0f kB (%.0f + %.0f + %.0f + %.0f) |" % (
               d.get("SUnreclaim", 0) + d.get("KernelStack", 0) + d.get("PageTables", 0) +
               d.get("Percpu", 0), d.get("SUnreclaim", 0), d.get("KernelStack", 0),
               d.get("PageTables", 0), d.get("Percpu", 0))]
    ls = o.get("loaded_starts")
    if ls:
        out += ["", "With these %d tasks running, %d sequential `berth run --rm IMAGE /bin/true`: "
                "p50 %.0f ms wall, in-process start %.0f ms, of which %.0f ms in admission "
                "(containers lock, name check and reservations read every container record); "
                "compare the start-latency block, measured with no task running." % (
                    o["tasks"], ls["n"], ls["wall"]["p50"], ls["inprocess"]["p50"],
                    ls["admission"]["p50"])]
    mm = o.get("monitor_mappings")
    if mm:
        out += ["", "One monitor's largest mappings (PSS / anonymous kB): " + "; ".join(
            "%s %d / %d" % (m[0].rsplit("/", 1)[-1], m[1], m[2]) for m in mm[:6]) + "."]
    return out


def unpack_md(u):
    L = u["layer"]
    out = ["## Layer unpack (host, tmpfs)", "",
           "One layer made now from real files (%s): %d entries (%d files, %d dirs, %d "
           "symlinks, %d hard links), %.1f MB as tar, %.1f MB as .tar.gz (gzip -6).  Each "
           "method extracts the same blob into a fresh directory on a tmpfs; berth loads the "
           "OCI layout holding it into a fresh state root (verifying both digests, unpacking "
           "with its path-safe writer).  Median of %d rounds; MB/s counts the uncompressed "
           "tar." % (" ".join(L["paths"][:8]) + (" ..." if len(L["paths"]) > 8 else ""),
                      L["entries"], L["files"], L["dirs"], L["symlinks"], L["hardlinks"],
                      L["tar_bytes"] / 1e6, L["gz_bytes"] / 1e6, u["reps"]), "",
           "| method | s | MB/s | entries/s | time ÷ tar -xzf | rounds (s) |",
           "|---|---|---|---|---|---|"]
    m = u["methods"]
    tar = m.get("tar -xzf", {}).get("s")
    for k, x in m.items():
        out.append("| %s | %.2f | %s | %s | %s | %s |" % (
            k, x["s"], f1(x.get("mb_s")), "%.0f" % x["entries_s"] if "entries_s" in x else "–",
            rx(ratio(x["s"], tar)), " ".join("%.2f" % v for v in x["all_s"])))
    return out


CRUN_HOST_MS = 20.9  # crun run p50 on this host outside the VM (reference/performance.md B1)


def tcg_estimate(lat, p50):
    crun = (lat["series"].get("crun") or {}).get("p50")
    if not crun:
        return "not met as measured (TCG inflates absolute times)"
    f = crun / CRUN_HOST_MS
    est = p50 / f
    return ("not met as measured; TCG inflates about %.0f× here (crun p50 %.0f ms in the VM, "
            "%.1f ms on the host), which puts berth near %.0f ms natively: %s" % (
                f, crun, CRUN_HOST_MS, est, "likely met" if est < 5 else "not met"))


def goals_md(res):
    vm, un = res.get("vm") or {}, res.get("unpack")
    lat, ov = vm.get("latency"), vm.get("overhead")
    rows = []
    if lat and lat.get("inprocess", {}).get("n"):
        p50 = lat["inprocess"]["p50"]
        rows.append(("in-process start p50 < 5 ms", "%.1f ms (%s)" % (p50, TCG),
                     "met" if p50 < 5 else tcg_estimate(lat, p50)))
    if lat and "crun" in lat["series"] and lat["series"]["crun"].get("n"):
        net = lat["series"].get("berth+net", {})
        if net.get("n"):
            r = ratio(net["p50"], lat["series"]["crun"]["p50"])
            r90 = ratio(net["p90"], lat["series"]["crun"]["p90"])
            rows.append(("`berth run --rm` ≤ crun for the same rootfs (with berth building the "
                         "task's network)", "%s of crun at p50, %s at p90 (%s), **with** the awsvpc "
                         "network; crun's namespace is empty" % (rx(r), rx(r90), TCG),
                         "met" if r <= 1 else "not met"))
        else:
            r = ratio(lat["series"]["berth"]["p50"], lat["series"]["crun"]["p50"])
            rows.append(("`berth run --rm` ≤ crun for the same rootfs (with berth building the "
                         "task's network)", "%s of crun at p50 (%s), without networking" % (rx(r), TCG),
                         "met without networking" if r <= 1 else "not met"))
    if ov:
        k = ov["berth_pss_per_task_kb"]
        rows.append(("per-task overhead < 1 MiB PSS", "%.0f kB (%s)" % (k, TCG),
                     "met" if k < 1024 else "not met"))
    if un and "tar -xzf" in un["methods"]:
        r = ratio(un["methods"]["berth image load"]["s"], un["methods"]["tar -xzf"]["s"])
        rows.append(("unpack within 10% of `tar -xzf`", "%s of tar's time (host, tmpfs)" % rx(r),
                     "met" if r <= 1.10 else "not met"))
    ns = res.get("netsetup")
    if ns and "setup_all" in ns:
        p50 = ns["setup_all"]["p50"]
        rows.append(("per-task network setup < 2 ms for the first 500 tasks",
                     "p50 %.2f ms, p90 %.2f ms (host, native)" % (p50, ns["setup_all"]["p90"]),
                     "met at p50" if p50 < 2 else "not met"))
    out = ["## Goals (issues 4 and 6)", "", "| goal | measured | verdict |", "|---|---|---|"]
    out += ["| %s | %s | %s |" % r for r in rows]
    return out


def net_latency_md(lat):
    ser = (lat or {}).get("series", {})
    if not ser.get("berth+net", {}).get("n"):
        return []
    b, bn = ser["berth"]["p50"], ser["berth+net"]["p50"]
    out = ["## Start latency with networking (%s)" % TCG, "",
           "`berth run --rm IMAGE /bin/true` with its default awsvpc network (own namespace, veth "
           "on a berth bridge, address, route, nftables, generated resolv.conf and hosts) against "
           "`--network none`, interleaved in the same loop:", "",
           "| | p50 ms | p90 ms |", "|---|---|---|",
           "| berth --network none | %.1f | %.1f |" % (b, ser["berth"]["p90"]),
           "| berth (awsvpc) | %.1f | %.1f |" % (bn, ser["berth+net"]["p90"])]
    if ser.get("crun", {}).get("n"):
        out.append("| crun (empty network namespace) | %.1f | %.1f |" % (ser["crun"]["p50"], ser["crun"]["p90"]))
    out += ["", "The network adds %.1f ms at p50 under TCG (setup and teardown, both inside the "
            "measured run)." % (bn - b), ""]
    return out


def netsetup_md(ns):
    out = ["## Per-task network setup (host, native, private namespace)", "",
           "`build/netbench %d`: netns/ sets up %d task networks one after another on one "
           "berth network (each with a published port, so every task also pays its nftables "
           "transaction), then tears them all down; state on tmpfs as /run/berth is.  No process "
           "start, no container: the network alone." % (ns["tasks"], ns["tasks"]), "",
           "| | n | p50 ms | p90 ms | max ms |", "|---|---|---|---|---|"]
    for k, label in [("setup_first_100", "setup, tasks 1-100"), ("setup_400_to_500", "setup, tasks 401-500"),
                     ("setup_all", "setup, all"), ("teardown_all", "teardown, all")]:
        if k in ns:
            v = ns[k]
            out.append("| %s | %d | %.2f | %.2f | %.2f |" % (label, v["n"], v["p50"], v["p90"], v["max"]))
    if "ip_cmds" in ns:
        out += ["", "The same per-task objects made with `ip` and `nft` commands (what a runtime "
                "that shells out does; %d tasks): p50 %.1f ms per task." % (ns["ip_cmds"]["n"],
                                                                          ns["ip_cmds"]["p50"])]
    return out


def render(res):
    out = ["# berth benchmarks", ""] + machine_lines(res) + [""]
    vm = res.get("vm")
    if vm:
        if "latency" in vm:
            out += latency_md(vm["latency"]) + [""]
        out += net_latency_md(vm.get("latency"))
        if "throughput" in vm:
            out += throughput_md(vm["throughput"]) + [""]
        if "overhead" in vm:
            out += overhead_md(vm["overhead"]) + [""]
        st = vm.get("strace")
        if st and "calls_per_run" in st:
            out += ["## Syscalls of one `berth run --rm` (%s, strace -f -c, %d runs)" % (
                TCG, st["runs"]), "",
                "%.0f syscalls per run (berth and the container child, up to the exec of "
                "`/bin/true`, and busybox after).  Most frequent: %s." % (
                    st["calls_per_run"], ", ".join("%s %.0f" % (k, v) for k, v in
                                                   st["top_by_count"][:8])), ""]
    elif res.get("vm_error"):
        out += ["## VM blocks", "", "not run: %s" % res["vm_error"], ""]
    if res.get("netsetup"):
        out += netsetup_md(res["netsetup"]) + [""]
    elif res.get("netsetup_error"):
        out += ["## Per-task network setup", "", "not run: %s" % res["netsetup_error"], ""]
    if res.get("unpack"):
        out += unpack_md(res["unpack"]) + [""]
    elif res.get("unpack_error"):
        out += ["## Layer unpack", "", "not run: %s" % res["unpack_error"], ""]
    out += goals_md(res) + [""]
    return "\n".join(out)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        print(render(json.load(f)))

#!/usr/bin/env python3
"""awsvpc task networking end to end: addresses, task-to-task security
groups, egress masquerade, published ports (outside, host, 127.0.0.1),
hairpin, the loopback guard, bad input, and cleanup after many tasks and
after a killed berth.  Runs in the VM (berth run needs cgroup v2).

Traffic stays inside the VM: "outside" is a network namespace the tests
create (bt-out, 172.31.255.2) behind a veth on the VM's root namespace
(172.31.255.1).  ip/nft/conntrack are used here by the tests only."""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BERTH, PROBE, eq, ok, one_line_error, run_all, skip, test  # noqa: E402
import ociimg  # noqa: E402

STATE = "/run/berth/net-berth"
OUT_NS = "bt-out"
UPLINK = "bt-up"
HOST_IP = "172.31.255.1"
OUT_IP = "172.31.255.2"
BRNF = "/proc/sys/net/bridge/bridge-nf-call-iptables"


def sh(*cmd, check=True, **kw):
    p = subprocess.run(list(cmd), capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s: %s%s" % (" ".join(cmd), p.stdout, p.stderr))
    return p


def need_vm():
    try:
        with open("/sys/fs/cgroup/cgroup.controllers") as f:
            if "memory" not in f.read():
                raise OSError
    except OSError:
        skip("needs cgroup v2 (run in the VM)")


def load(t):
    need_vm()
    path = t.path("img")
    ociimg.write_oci_layout(path, [ociimg.busybox_image(probe=True)])
    t.berth("image", "load", path, check=True)


def config(t, network):
    path = t.path("berth.json")
    with open(path, "w") as f:
        json.dump({"network": network}, f)
    return path


class Task:
    """A `berth run` in the background whose command prints a ready line."""

    def __init__(self, t, *args, ready="serving", config=None):
        cmd = [BERTH, "--root", t.root] + (["--config", config] if config else []) + ["run"] + list(args)
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  stdin=subprocess.DEVNULL)
        self.t = t
        self.config = config
        line = self.p.stdout.readline()
        if ready not in line:
            self.p.kill()
            out, err = self.p.communicate()
            raise AssertionError("task did not get ready: %r %r %r" % (line, out, err))
        self.id = self.find_id()
        self.ip = self.inspect()["network"].get("ipv4Address")

    def find_id(self):
        ids = self.t.berth("ps", "-q", check=True).stdout.split()
        for i in ids:
            rec = json.loads(self.t.berth("inspect", i, check=True).stdout)
            if rec.get("pid") and os.path.exists("/proc/%d" % rec["pid"]):
                try:
                    ppid = int(open("/proc/%d/stat" % rec["pid"]).read().rsplit(")", 1)[1].split()[1])
                except OSError:
                    continue
                if ppid == self.p.pid:
                    return i
        raise AssertionError("cannot find the container of berth pid %d" % self.p.pid)

    def inspect(self):
        return json.loads(self.t.berth("inspect", self.id, check=True).stdout)

    def pid(self):
        return self.inspect()["pid"]

    def stop(self):
        """End the task the way an operator does: `berth rm -f` (PID 1 of the
        container ignores SIGTERM unless it handles it); berth run exits."""
        if self.p.poll() is None:
            cfg = ["--config", self.config] if self.config else []
            self.t.berth(*cfg, "rm", "-f", self.id, check=True)
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.p.stdout.close()
        self.p.stderr.close()


def run_probe(t, *args, config=None, extra=()):
    cfg = ["--config", config] if config else []
    p = t.berth(*cfg, "run", "--rm", *extra, "busybox", "/probe", *args, check=True)
    return p.stdout.strip()


def connect(t, ip, port, udp=False, config=None, extra=()):
    return run_probe(t, "connect", ip, str(port), *(["udp"] if udp else []), config=config, extra=extra)


def host_connect(ip, port, ns=None):
    cmd = ([ "ip", "netns", "exec", ns] if ns else []) + [PROBE, "connect", ip, str(port)]
    return sh(*cmd).stdout.strip()


class Outside:
    """A namespace beyond the host, reached over a veth (never the real network)."""

    def __enter__(self):
        sh("ip", "netns", "del", OUT_NS, check=False)
        sh("ip", "link", "del", UPLINK, check=False)
        sh("ip", "netns", "add", OUT_NS)
        sh("ip", "link", "add", UPLINK, "type", "veth", "peer", "name", "eth0", "netns", OUT_NS)
        sh("ip", "addr", "add", HOST_IP + "/24", "dev", UPLINK)
        sh("ip", "link", "set", UPLINK, "up")
        sh("ip", "-n", OUT_NS, "addr", "add", OUT_IP + "/24", "dev", "eth0")
        sh("ip", "-n", OUT_NS, "link", "set", "eth0", "up")
        sh("ip", "-n", OUT_NS, "link", "set", "lo", "up")
        self.servers = []
        return self

    def serve(self, *ports):
        p = subprocess.Popen(["ip", "netns", "exec", OUT_NS, PROBE, "serve"] + [str(x) for x in ports],
                             stdout=subprocess.PIPE, text=True)
        eq(p.stdout.readline().strip(), "serving", "outside server")
        self.servers.append(p)

    def __exit__(self, *a):
        for p in self.servers:
            p.kill()
            p.wait()
            p.stdout.close()
        sh("ip", "netns", "del", OUT_NS, check=False)
        sh("ip", "link", "del", UPLINK, check=False)


def leases():
    try:
        return sorted(os.listdir(os.path.join(STATE, "tasks")))
    except FileNotFoundError:
        return []


def bridge_ports():
    out = sh("ip", "-o", "link", "show").stdout
    return [l.split(":")[1].strip().split("@")[0] for l in out.splitlines() if " master berth" in l]


def nft_elements():
    p = sh("nft", "-j", "list", "table", "inet", "berth", check=False)
    if p.returncode != 0:
        return []
    els = []
    for obj in json.loads(p.stdout)["nftables"]:
        for kind in ("set", "map"):
            if kind in obj and obj[kind].get("elem"):
                els += [(obj[kind]["name"], e) for e in obj[kind]["elem"]]
    return els


def conntrack_of(prefix="10.88."):
    """Entries of task addresses (not the bridge's own IGMP/multicast ones)."""
    p = sh("conntrack", "-L", "-f", "ipv4", check=False)
    return [l for l in p.stdout.splitlines()
            if re.search(r"=%s\d+\.\d+" % re.escape(prefix), l) and "dst=224." not in l]


def assert_clean():
    eq(leases(), [], "leases left")
    # A finished task's veth goes with its namespace, which the kernel
    # destroys asynchronously: allow it a moment.
    end = time.time() + 5
    while bridge_ports() and time.time() < end:
        time.sleep(0.05)
    eq(bridge_ports(), [], "veths left on berth's bridges")
    eq(nft_elements(), [], "nft elements left")
    for d in ("ips", "ports", "files"):
        eq(os.listdir(os.path.join(STATE, d)) if os.path.isdir(os.path.join(STATE, d)) else [], [],
           "%s left" % d)


def set_brnf(v):
    if not os.path.exists(BRNF):
        sh("modprobe", "br_netfilter", check=False)
    if not os.path.exists(BRNF):
        skip("br_netfilter is not available")
    old = open(BRNF).read().strip()
    with open(BRNF, "w") as f:
        f.write(v)
    return old


# ---------------------------------------------------------------- addressing

@test
def task_gets_address_route_and_generated_files(t):
    load(t)
    out = t.berth("run", "--rm", "--hostname", "web1", "busybox", "sh", "-c",
                  "ip -4 -o addr show eth0; ip route; echo ==; cat /etc/resolv.conf; echo ==; "
                  "cat /etc/hosts; ip -o link show eth0", check=True).stdout
    m = re.search(r"inet (10\.\d+\.\d+\.\d+)/23", out)
    ok(m, "no 10.x/23 address on eth0: %s" % out)
    ip = m.group(1)
    gw = re.search(r"default via (\S+) dev eth0", out)
    ok(gw, "no default route: %s" % out)
    resolv, hosts = out.split("==\n")[1], out.split("==\n")[2]
    ok("nameserver 127." not in resolv, "loopback nameserver leaked into the task: %s" % resolv)
    ok(re.search(r"^%s\s+web1$" % re.escape(ip), hosts, re.M), "hosts lacks the task: %s" % hosts)
    ok("0a:62:" in out, "eth0 MAC is not berth's: %s" % out)
    assert_clean()


@test
def generated_files_never_follow_image_symlinks_out(t):
    need_vm()
    canary = t.path("canary")
    with open(canary, "w") as f:
        f.write("host file\n")
    evil = ociimg.Layer()
    evil.dir("etc")
    evil.symlink("etc/hosts", canary)                      # absolute: a host path
    evil.symlink("etc/resolv.conf", "../run/systemd/resolve/stub-resolv.conf")  # dangling
    img = ociimg.Image([ociimg.busybox_layer(), evil], name="evil:latest",
                       config={"Env": ["PATH=/bin"]})
    ociimg.write_oci_layout(t.path("img"), [img])
    t.berth("image", "load", t.path("img"), check=True)
    existed = os.path.exists("/run/systemd/resolve/stub-resolv.conf")
    out = t.berth("run", "--rm", "--hostname", "evil", "evil", "sh", "-c",
                  "cat /etc/hosts; echo ==; cat /etc/resolv.conf", check=True).stdout
    ok(re.search(r"^10\.\d+\.\d+\.\d+\s+evil$", out, re.M), "generated hosts not seen: %s" % out)
    ok("generated by berth" in out.split("==")[1], "generated resolv.conf not seen: %s" % out)
    eq(open(canary).read(), "host file\n", "host file behind the image's symlink")
    eq(os.path.exists("/run/systemd/resolve/stub-resolv.conf"), existed, "host path created")
    assert_clean()


@test
def configured_nameservers_and_subnet(t):
    load(t)
    cfg = config(t, {"dns": {"nameservers": ["10.0.0.53"], "search": ["corp.example"]}})
    out = t.berth("--config", cfg, "run", "--rm", "busybox", "cat", "/etc/resolv.conf", check=True).stdout
    ok("nameserver 10.0.0.53" in out and "search corp.example" in out, out)
    assert_clean()


@test
def inspect_and_network_ls_show_the_address(t):
    load(t)
    task = Task(t, "--name", "insp", "-p", "18085:8080", "busybox", "/probe", "serve", "8080")
    try:
        rec = task.inspect()
        net = rec["network"]
        eq(net["mode"], "awsvpc", "mode")
        ok(re.fullmatch(r"10\.\d+\.\d+\.\d+", net["ipv4Address"]), net)
        eq(net["portMappings"], [{"containerPort": 8080, "hostPort": 18085, "protocol": "tcp"}], "ports")
        ls = t.berth("network", "ls", check=True).stdout
        ok(net["ipv4Address"] in ls and "18085->8080/tcp" in ls and task.id[:12] in ls, ls)
        ok(len(bridge_ports()) == 1, bridge_ports())
    finally:
        task.stop()
    assert_clean()


@test
def network_none_has_only_loopback(t):
    load(t)
    out = t.berth("run", "--rm", "--network", "none", "busybox", "ip", "-o", "link", check=True).stdout
    ok("lo:" in out and "eth0" not in out, out)
    eq(leases(), [], "a lease for --network none")


# ---------------------------------------------------------------- security groups

@test
def tasks_reach_declared_ports_only_even_without_bridge_netfilter(t):
    load(t)
    a = Task(t, "-p", "8080", "busybox", "/probe", "serve", "8080", "9090")
    old = None
    try:
        for brnf in ("1", "0"):
            prev = set_brnf(brnf)
            old = old or prev
            r = connect(t, a.ip, 8080)
            ok(r.startswith("connect=OK reply=hello 8080 from 10."), "allowed port (br_nf=%s): %s" % (brnf, r))
            ok(not r.endswith("from " + a.ip), r)
            r = connect(t, a.ip, 9090)
            ok(not r.startswith("connect=OK"), "undeclared port reachable (br_nf=%s): %s" % (brnf, r))
    finally:
        if old is not None:
            set_brnf(old)
        a.stop()
    assert_clean()


@test
def security_groups_from_groups_and_cidrs(t):
    load(t)
    groups = [
        {"GroupId": "sg-db", "GroupName": "db", "Description": "database",
         "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
                            "UserIdGroupPairs": [{"GroupId": "sg-app"}]}]},
        {"GroupId": "sg-app", "IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": "8000", "ToPort": 8001, "IpRanges": [{"CidrIp": "172.31.255.0/24"}]}],
         "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]},
    ]
    cfg = config(t, {"securityGroups": groups})
    db = Task(t, "--security-group", "sg-db", "-p", "6000", "busybox", "/probe", "serve", "5432", "6000",
              config=cfg)
    try:
        with Outside() as out:
            app = Task(t, "--security-group", "sg-app", "-p", "18000:8000", "busybox", "/probe", "serve", "8000",
                       "8002", config=cfg)
            try:
                r = connect(t, db.ip, 5432, config=cfg, extra=("--security-group", "sg-app"))
                ok(r.startswith("connect=OK"), "member of sg-app -> db:5432: %s" % r)
                r = connect(t, db.ip, 5432, config=cfg)
                ok(not r.startswith("connect=OK"), "non-member -> db:5432: %s" % r)
                r = connect(t, db.ip, 6000, config=cfg, extra=("--security-group", "sg-app"))
                ok(not r.startswith("connect=OK"),
                   "a declared port outside the group's rules is open: %s" % r)
                r = host_connect(HOST_IP, 18000, ns=OUT_NS)
                eq(r, "connect=OK reply=hello 8000 from " + OUT_IP, "CIDR rule via published port")
                r = host_connect(app.ip, 8002, ns=None)  # from the host itself: not forwarded
                ok(r.startswith("connect=OK"), "host -> task: %s" % r)
            finally:
                app.stop()
    finally:
        db.stop()
    assert_clean()


# ---------------------------------------------------------------- NAT and publishing

@test
def egress_is_masqueraded(t):
    load(t)
    with Outside() as out:
        out.serve(7000)
        r = connect(t, OUT_IP, 7000)
        eq(r, "connect=OK reply=hello 7000 from " + HOST_IP, "egress source")
    assert_clean()


@test
def published_port_from_outside_host_and_localhost(t):
    load(t)
    with Outside():
        a = Task(t, "-p", "18080:8080", "-p", "18081:8081/udp", "busybox", "/probe", "serve", "8080", "8081/udp")
        try:
            eq(host_connect(HOST_IP, 18080, ns=OUT_NS), "connect=OK reply=hello 8080 from " + OUT_IP,
               "outside -> published port keeps the client address")
            r = sh("ip", "netns", "exec", OUT_NS, PROBE, "connect", HOST_IP, "18081", "udp").stdout.strip()
            eq(r, "connect=OK reply=hello 8081 from " + OUT_IP, "udp")
            r = host_connect(HOST_IP, 18080)
            ok(r.startswith("connect=OK reply=hello 8080"), "host -> its own address: %s" % r)
            r = host_connect("127.0.0.1", 18080)
            ok(not r.startswith("connect=OK"), "127.0.0.1 reached without publishLocalhost: %s" % r)
        finally:
            a.stop()
    cfg = config(t, {"publishLocalhost": True})
    a = Task(t, "-p", "18080:8080", "busybox", "/probe", "serve", "8080", config=cfg)
    try:
        r = host_connect("127.0.0.1", 18080)
        ok(r.startswith("connect=OK reply=hello 8080"), "127.0.0.1 with publishLocalhost: %s" % r)
    finally:
        a.stop()
    # back to the default configuration: route_localnet is off again
    t.berth("run", "--rm", "busybox", "true", check=True)
    assert_clean()


@test
def hairpin_task_reaches_itself_through_its_published_port(t):
    load(t)
    old = None
    try:
        for brnf in ("1", "0"):
            prev = set_brnf(brnf)
            old = old or prev
            out = t.berth("run", "--rm", "-p", "18082:8080", "busybox", "sh", "-c",
                          "/probe serve 8080 >/dev/null & sleep 0.5; "
                          "/probe connect $(ip route | awk '/default/ {print $3}') 18082",
                          check=True).stdout.strip()
            ok(out.startswith("connect=OK reply=hello 8080"), "hairpin (br_nf=%s): %s" % (brnf, out))
    finally:
        if old is not None:
            set_brnf(old)
    assert_clean()


@test
def task_cannot_reach_host_loopback_services(t):
    load(t)
    cfg = config(t, {"publishLocalhost": True})
    srv = subprocess.Popen([PROBE, "serve", "127.0.0.2:7777"], stdout=subprocess.PIPE, text=True)
    eq(srv.stdout.readline().strip(), "serving", "host loopback server")
    a = Task(t, "busybox", "sh", "-c", "echo serving; sleep 60", config=cfg)
    try:
        gw = a.inspect()["network"]["gateway"]
        # The attack of CVE-2020-8558, made from inside the task's namespace
        # as a task holding CAP_NET_ADMIN could: route 127.0.0.2 (where a
        # host service listens, loopback only) via the host.
        attack = ["nsenter", "-t", str(a.pid()), "-n", "sh", "-c",
                  "sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.eth0.route_localnet=1; "
                  "ip route del local 127.0.0.0/8 dev lo table local 2>/dev/null; "
                  "ip route replace local 127.0.0.1 dev lo table local; "
                  "ip route replace 127.0.0.2/32 via %s dev eth0 onlink; %s connect 127.0.0.2 7777" % (gw, PROBE)]
        r = sh(*attack).stdout.strip()
        ok(not r.startswith("connect=OK"), "task reached a host loopback service: %s" % r)
        # Control: without berth's guard rule the same attack succeeds.
        h = sh("nft", "-a", "list", "chain", "inet", "berth", "guard").stdout
        handle = re.search(r"127\.0\.0\.0/8 drop # handle (\d+)", h).group(1)
        sh("nft", "delete", "rule", "inet", "berth", "guard", "handle", handle)
        r = sh(*attack).stdout.strip()
        ok(r.startswith("connect=OK"), "control: the attack should work without the guard: %s" % r)
    finally:
        a.stop()
        srv.kill()
        srv.wait()
        srv.stdout.close()
        t.berth("--config", cfg, "network", "prune", check=True)  # rebuilds the tables
    ok("127.0.0.0/8 drop" in sh("nft", "list", "chain", "inet", "berth", "guard").stdout, "guard restored")
    t.berth("run", "--rm", "busybox", "true", check=True)
    assert_clean()


@test
def tasks_are_sharded_across_bridges_and_routed_between_them(t):
    """Each bridge serves one slice of the subnet (here a /30: one task per
    bridge); tasks on different bridges reach each other through the host,
    with security groups applied as on one bridge."""
    load(t)
    cfg = config(t, {"subnet": "10.97.0.0/24", "bridgeSubnetPrefixLength": 30, "bridgePrefix": "bts",
                     "stateDir": t.path("nets")})
    a = Task(t, "-p", "8080", "busybox", "/probe", "serve", "8080", "9090", config=cfg)
    b = Task(t, "busybox", "sh", "-c", "echo serving; sleep 60", config=cfg)
    try:
        eq((a.ip, b.ip), ("10.97.0.2", "10.97.0.6"), "one address per /30 slice")
        eq((a.inspect()["network"]["bridge"], b.inspect()["network"]["bridge"]), ("bts0", "bts1"), "bridges")
        ok("bts1" in sh("ip", "-o", "link", "show", "type", "bridge").stdout, "second bridge")
        r = connect(t, a.ip, 8080, config=cfg)
        ok(r.startswith("connect=OK reply=hello 8080 from 10.97.0."), "across bridges: %s" % r)
        r = connect(t, a.ip, 9090, config=cfg)
        ok(not r.startswith("connect=OK"), "undeclared port across bridges: %s" % r)
    finally:
        a.stop()
        b.stop()
    eq(os.listdir(t.path("nets", "tasks")), [], "leases left")
    for link in ("bts0", "bts1", "bts2"):
        sh("ip", "link", "del", link, check=False)
    sh("nft", "delete", "table", "inet", "bts", check=False)
    sh("nft", "delete", "table", "bridge", "bts", check=False)


@test
def a_flushed_ruleset_is_rebuilt_before_the_next_task(t):
    """A firewall reload (nft flush ruleset) drops berth's tables; the next
    task must not run without them."""
    load(t)
    t.berth("run", "--rm", "busybox", "true", check=True)
    sh("nft", "flush", "ruleset")
    out = t.berth("run", "--rm", "busybox", "true", check=True)
    eq(out.returncode, 0, "run after a flush")
    ok("jump ingress" in sh("nft", "list", "table", "inet", "berth").stdout, "inet table rebuilt")
    ok(sh("nft", "list", "table", "bridge", "berth", check=False).returncode == 0, "bridge table rebuilt")
    assert_clean()


# ---------------------------------------------------------------- bad input

@test
def port_conflicts_are_refused_cleanly(t):
    load(t)
    a = Task(t, "-p", "18083:8080", "busybox", "/probe", "serve", "8080")
    try:
        before = nft_elements()
        p = t.berth("run", "--rm", "-p", "18083:9000", "busybox", "true")
        one_line_error(p, "18083/tcp", "already published by task " + a.id[:12])
        eq(p.returncode, 125, "exit code")
        eq(nft_elements(), before, "nft elements after a refused run")
        eq(len(leases()), 1, "leases after a refused run")
    finally:
        a.stop()
    srv = subprocess.Popen([PROBE, "serve", "18084"], stdout=subprocess.PIPE, text=True)
    srv.stdout.readline()
    try:
        p = t.berth("run", "--rm", "-p", "18084:80", "busybox", "true")
        one_line_error(p, "18084/tcp", "in use")
    finally:
        srv.kill()
        srv.wait()
        srv.stdout.close()
    for bad, needle in [("abc", "abc"), ("70000:80", "70000:80"), ("1:2:3", "1:2:3"), ("80/sctp", "80/sctp")]:
        p = t.berth("run", "--rm", "-p", bad, "busybox", "true")
        one_line_error(p, needle)
    p = t.berth("run", "--rm", "-p", "18090:80", "-p", "18090:81", "busybox", "true")
    one_line_error(p, "18090/tcp", "twice")
    p = t.berth("run", "--rm", "--security-group", "sg-nope", "busybox", "true")
    one_line_error(p, "sg-nope", "not defined")
    p = t.berth("run", "--rm", "--network", "bogus", "busybox", "true")
    one_line_error(p, "bogus")
    p = t.berth("run", "--rm", "--hostname", "evil\n10.0.0.1 bank.example", "busybox", "true")
    one_line_error(p, "--hostname")
    assert_clean()


@test
def bad_configurations_are_refused(t):
    load(t)
    cases = [
        ("{not json", "malformed JSON"),
        ({"network": {"subnet": "10.88.0.1/16"}}, "host bits"),
        ({"network": {"subnet": "127.0.0.0/16"}}, "not usable"),
        ({"network": {"subnet": "10.0.0.0/33"}}, "10.0.0.0/33"),
        ({"network": {"subnett": "10.0.0.0/16"}}, "subnett"),
        ({"netwrk": {}}, "netwrk"),
        ({"network": {"bridgePrefix": "Bad Name"}}, "bridgePrefix"),
        ({"network": {"securityGroups": [{"GroupId": "sg-a", "IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2, "UserIdGroupPairs": [{"GroupId": "sg-x"}]}]}]}},
         "sg-x"),
        ({"network": {"securityGroups": [{"GroupId": "sg-a", "IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}]}]}},
         "IPv6"),
        ({"network": {"securityGroups": [{"GroupId": "sg-a", "IpPermissionsEgress": [
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}]}},
         "egress"),
        ({"network": {"securityGroups": [{"GroupId": "sg-a", "IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": 9, "ToPort": 1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}]}},
         "9-1"),
    ]
    path = t.path("bad.json")
    for content, needle in cases:
        with open(path, "w") as f:
            f.write(content if isinstance(content, str) else json.dumps(content))
        p = t.berth("--config", path, "run", "--rm", "busybox", "true")
        one_line_error(p, needle)
    p = t.berth("--config", t.path("missing.json"), "run", "--rm", "busybox", "true")
    one_line_error(p, "missing.json")
    assert_clean()


@test
def overlapping_subnet_and_exhausted_pool(t):
    load(t)
    sh("ip", "link", "add", "bt-dummy", "type", "dummy")
    try:
        sh("ip", "addr", "add", "10.77.0.1/16", "dev", "bt-dummy")
        sh("ip", "link", "set", "bt-dummy", "up")
        cfg = config(t, {"subnet": "10.77.128.0/24", "bridgePrefix": "btx", "stateDir": t.path("netx")})
        p = t.berth("--config", cfg, "run", "--rm", "busybox", "true")
        one_line_error(p, "10.77.128.0/24", "overlaps", "bt-dummy")
        ok("btx0" not in sh("ip", "-o", "link").stdout, "a bridge was created for a refused subnet")
        eq(sh("nft", "list", "table", "inet", "btx", check=False).returncode, 1, "tables made for a refused subnet")
        eq(os.listdir(os.path.join(t.path("netx"), "tasks")), [], "lease left")
    finally:
        sh("ip", "link", "del", "bt-dummy", check=False)
    # A /30 holds exactly one task.
    cfg = config(t, {"subnet": "10.99.0.0/30", "bridgePrefix": "bty", "stateDir": t.path("nety")})
    a = Task(t, "busybox", "sh", "-c", "echo serving; sleep 60", config=cfg)
    try:
        eq(a.ip, "10.99.0.2", "the one task address")
        p = t.berth("--config", cfg, "run", "--rm", "busybox", "true")
        one_line_error(p, "no free address", "10.99.0.0/30")
    finally:
        a.stop()
    eq(os.listdir(os.path.join(t.path("nety"), "tasks")), [], "lease left")
    sh("ip", "link", "del", "bty0", check=False)
    sh("nft", "delete", "table", "inet", "bty", check=False)
    sh("nft", "delete", "table", "bridge", "bty", check=False)


def _rmmod(*mods):
    """Unload modules, the modules that hold them first."""
    for m in mods:
        hold = "/sys/module/%s/holders" % m
        if os.path.isdir(hold):
            _rmmod(*os.listdir(hold))
        if os.path.isdir("/sys/module/" + m):
            p = sh("rmmod", m, check=False)
            if p.returncode != 0:
                skip("cannot unload %s here: %s" % (m, p.stderr.strip()))


@test
def missing_kernel_features_are_reported(t):
    """No bridge or no nftables NAT in the kernel (modules unloaded, module
    autoloading off): one clear line, and nothing left behind."""
    load(t)
    eq(leases(), [], "tasks running before the test")
    for link in [l for l in sh("ip", "-o", "link").stdout.split() if re.fullmatch(r"berth\d+:", l)]:
        sh("ip", "link", "del", link[:-1])
    for line in sh("nft", "list", "tables").stdout.splitlines():  # berth's and earlier tests'
        fam, name = line.split()[1:3]
        if name == "berth" or name.startswith("bt"):
            sh("nft", "delete", "table", fam, name, check=False)
    with open("/proc/sys/kernel/modprobe") as f:
        modprobe = f.read().strip()
    try:
        with open("/proc/sys/kernel/modprobe", "w") as f:
            f.write("/bin/false")
        _rmmod("br_netfilter", "bridge")
        p = t.berth("run", "--rm", "busybox", "true")
        line = one_line_error(p, "bridge")
        print("# without bridge: " + line)
        ok("module" in line, "the error does not say which module: %s" % line)
        eq(leases(), [], "lease left")
        eq(nft_elements(), [], "elements left")
        with open("/proc/sys/kernel/modprobe", "w") as f:
            f.write(modprobe)
        sh("modprobe", "bridge")
        sh("modprobe", "br_netfilter")
        with open("/proc/sys/kernel/modprobe", "w") as f:
            f.write("/bin/false")
        sh("nft", "delete", "table", "inet", "berth", check=False)
        sh("nft", "delete", "table", "bridge", "berth", check=False)
        _rmmod("nft_chain_nat")
        p = t.berth("run", "--rm", "busybox", "true")
        line = one_line_error(p, "nftables")
        print("# without nft_chain_nat: " + line)
        ok("nft_chain_nat" in line, "the error does not name the module: %s" % line)
        eq(leases(), [], "lease left")
    finally:
        with open("/proc/sys/kernel/modprobe", "w") as f:
            f.write(modprobe)
        for m in ("bridge", "br_netfilter", "nft_chain_nat"):
            sh("modprobe", m, check=False)
    t.berth("run", "--rm", "busybox", "true", check=True)
    assert_clean()


# ---------------------------------------------------------------- cleanup

@test
def many_tasks_leave_nothing_behind(t):
    load(t)
    n = int(os.environ.get("BERTH_NET_LOOP", "200"))
    with Outside() as out:
        out.serve(7000)
        script = "/probe connect %s 7000 >/dev/null; /probe connect %s 7000 udp >/dev/null" % (OUT_IP, OUT_IP)
        for i in range(n):
            port = 19000 + (i % 3)
            p = t.berth("run", "--rm", "-p", "%d:80" % port, "-p", "%d:81/udp" % port, "busybox", "sh", "-c",
                        script)
            eq(p.returncode, 0, "task %d: %s" % (i, p.stderr))
    assert_clean()
    eq(conntrack_of(), [], "conntrack entries of tasks left")


@test
def killed_berth_leaves_a_lease_that_prune_and_reuse_free(t):
    load(t)
    for how in ("prune", "reuse"):
        a = Task(t, "-p", "18086:8080", "busybox", "/probe", "serve", "8080")
        pid = a.pid()
        os.kill(a.p.pid, signal.SIGKILL)
        a.p.wait()
        end = time.time() + 20
        while os.path.exists("/proc/%d" % pid) and time.time() < end:
            time.sleep(0.1)
        ok(not os.path.exists("/proc/%d" % pid), "the container outlived its berth")
        eq(len(leases()), 1, "the lease of the killed task")
        if how == "prune":
            out = t.berth("network", "prune", check=True).stdout
            ok("freed 1 task network" in out, out)
        else:
            b = Task(t, "-p", "18086:8080", "busybox", "/probe", "serve", "8080")
            ok(b.ip, "port reused")
            b.stop()
        a.p.stdout.close()
        a.p.stderr.close()
        t.berth("rm", a.id, check=True)
        assert_clean()


if __name__ == "__main__":
    run_all()

/* berth run — run one container in the foreground.
 *
 * The container's stdout/stderr are the caller's own fds when those are
 * pipes or files (zero-copy); when they are terminals the container gets
 * pipes that berth relays, so a container can never reach the host's tty
 * (TIOCSTI and friends).  stdin is /dev/null unless -i is given.
 * SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are forwarded; the
 * third SIGINT kills the container.  The exit code is the container's. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/trace.h"
#include "common/util.h"
#include "scheduler/container.h"
#include "scheduler/resources.h"
#include "tools/cli.h"

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

static void run_usage(FILE *f)
{
	fprintf(f,
		"usage: berth run [OPTIONS] IMAGE [CMD [ARG...]]\n"
		"\n"
		"Run a container in the foreground and exit with its exit code.\n"
		"\n"
		"  -e, --env KEY=VALUE   set an environment variable (KEY alone copies the caller's)\n"
		"  -u, --user USER[:GROUP]  run as this user (names resolve in the image)\n"
		"  -w, --workdir DIR     working directory (created if missing)\n"
		"      --hostname NAME   container hostname (default: the short container id)\n"
		"      --entrypoint CMD  replace the image's Entrypoint (and drop its Cmd)\n"
		"      --name NAME       name the container\n"
		"      --rm              remove the container when it exits\n"
		"      --read-only       mount the root filesystem read-only\n"
		"  -i, --interactive     connect stdin\n"
		"      --cpu UNITS       CPU for the task: units (1024 = 1 vCPU) or \"0.5 vCPU\";\n"
		"                        a hard cap and a reservation admission checks\n"
		"      --memory SIZE     memory for the task: MiB (\"512\") or \"1 GB\"; a hard\n"
		"                        limit (no swap) and a reservation\n"
		"      --pids-limit N    most processes the task may hold (default 4096)\n"
		"      --fargate         require one of Fargate's valid --cpu/--memory pairs\n"
		"  -p, --publish [HOST:]CONTAINER[/udp]  publish a container port on the host's\n"
		"                        port HOST (or only declare CONTAINER: security groups\n"
		"                        admit traffic to declared ports by default)\n"
		"      --network MODE    awsvpc (default: own address on a berth bridge, NAT,\n"
		"                        security groups) or none (loopback only)\n"
		"      --security-group ID  admit traffic by this group's rules (from the\n"
		"                        configuration's network.securityGroups); repeatable\n"
		"      --rootfs DIR      use a plain directory as the root instead of an image\n"
		"                        (then IMAGE is omitted and CMD is required)\n"
		"\n"
		"Exit status: the container's; 125 when berth itself fails, 126 when the\n"
		"command cannot be executed, 127 when it is not found, 128+N on signal N.\n");
}

struct relay {
	int from, to; /* from: read end of a pipe the container writes into */
};

static int pipe_for(int *container_end, int *our_end, bool container_writes)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	*container_end = container_writes ? p[1] : p[0];
	*our_end = container_writes ? p[0] : p[1];
	return 0;
}

static int pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

static bool copy_some(int from, int to)
{
	char buf[65536];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n <= 0)
		return false;
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return true; /* reader went away: keep draining */
		}
		off += w;
	}
	return true;
}

/* Wait for the container, forwarding signals and relaying terminal I/O. */
static int supervise(struct berth_proc *proc, int sfd, struct relay *out, size_t nout,
		     int stdin_from, int stdin_to, int *exit_code, struct berth_err *err)
{
	int sigints = 0;
	bool exited = false;
	for (;;) {
		struct pollfd p[6];
		size_t np = 0, first_out;
		p[np++] = (struct pollfd){.fd = sfd, .events = POLLIN};
		p[np++] = (struct pollfd){.fd = exited ? -1 : proc->pidfd, .events = POLLIN};
		p[np++] = (struct pollfd){.fd = stdin_to >= 0 ? stdin_from : -1, .events = POLLIN};
		first_out = np;
		bool open_out = false;
		for (size_t i = 0; i < nout; i++) {
			p[np++] = (struct pollfd){.fd = out[i].from, .events = POLLIN};
			open_out |= out[i].from >= 0;
		}
		if (exited && !open_out)
			break;
		if (poll(p, np, -1) < 0) {
			if (errno == EINTR)
				continue;
			return berth_err_set(err, errno, "poll");
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si) && !exited) {
				int sig = (int)si.ssi_signo;
				if (sig == SIGINT && ++sigints >= 3) {
					fprintf(stderr, "berth: third interrupt: killing the container\n");
					sig = SIGKILL;
				}
				pidfd_signal(proc->pidfd, sig);
			}
		}
		if (!exited && (p[1].revents & (POLLIN | POLLHUP))) {
			if (berth_proc_wait(proc, exit_code, err) < 0)
				return -1;
			berth_trace("exited");
			exited = true;
		}
		if (p[2].revents & (POLLIN | POLLHUP)) {
			if (!copy_some(stdin_from, stdin_to)) {
				close(stdin_to);
				stdin_to = -1;
			}
		}
		for (size_t i = 0; i < nout; i++) {
			if (p[first_out + i].revents & (POLLIN | POLLHUP | POLLERR)) {
				if (!copy_some(out[i].from, out[i].to)) {
					close(out[i].from);
					out[i].from = -1;
				}
			}
		}
	}
	if (stdin_to >= 0)
		close(stdin_to);
	return 0;
}

int cmd_run(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"env", required_argument, NULL, 'e'},
		{"user", required_argument, NULL, 'u'},
		{"workdir", required_argument, NULL, 'w'},
		{"hostname", required_argument, NULL, 'H'},
		{"entrypoint", required_argument, NULL, 'E'},
		{"name", required_argument, NULL, 'n'},
		{"rm", no_argument, NULL, 'R'},
		{"read-only", no_argument, NULL, 'r'},
		{"interactive", no_argument, NULL, 'i'},
		{"rootfs", required_argument, NULL, 'F'},
		{"cpu", required_argument, NULL, 'C'},
		{"memory", required_argument, NULL, 'M'},
		{"pids-limit", required_argument, NULL, 'P'},
		{"fargate", no_argument, NULL, 'G'},
		{"publish", required_argument, NULL, 'p'},
		{"network", required_argument, NULL, 'N'},
		{"security-group", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct berth_run_opts ro = {.max_layer_bytes = c->max_layer_bytes,
				    .memory_reserve_mib = c->memory_reserve_mib};
	struct berth_err perr = {0};
	_cleanup_free_ char **envs = calloc((size_t)argc + 1, sizeof(char *));
	_cleanup_free_ char **groups = calloc((size_t)argc + 1, sizeof(char *));
	_cleanup_free_ struct berth_port *ports = calloc((size_t)argc + 1, sizeof(*ports));
	size_t nenv = 0, ngroups = 0, nports = 0;
	bool interactive = false, fargate = false;
	int o;
	if (!envs || !groups || !ports) {
		fprintf(stderr, "berth: out of memory\n");
		return BERTH_EXIT_FAIL;
	}
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+e:u:w:ip:h", opts, NULL)) != -1) {
		switch (o) {
		case 'e': envs[nenv++] = optarg; break;
		case 'u': ro.user = optarg; break;
		case 'w': ro.workdir = optarg; break;
		case 'H': ro.hostname = optarg; break;
		case 'E': ro.entrypoint = optarg; break;
		case 'n': ro.name = optarg; break;
		case 'R': ro.remove_on_exit = true; break;
		case 'r': ro.read_only = true; break;
		case 'i': interactive = true; break;
		case 'F': ro.rootfs_dir = optarg; break;
		case 'C':
			if (berth_parse_cpu_units(optarg, "--cpu", &ro.cpu_units, &perr) < 0)
				return cli_fail(&perr, BERTH_EXIT_FAIL);
			break;
		case 'M':
			if (berth_parse_memory_mib(optarg, "--memory", &ro.memory_mib, &perr) < 0)
				return cli_fail(&perr, BERTH_EXIT_FAIL);
			break;
		case 'G': fargate = true; break;
		case 'p':
			if (berth_port_parse(optarg, &ports[nports], &perr) < 0)
				return cli_fail(&perr, BERTH_EXIT_FAIL);
			nports++;
			break;
		case 'N':
			if (!strcmp(optarg, "awsvpc"))
				ro.network = BERTH_NET_AWSVPC;
			else if (!strcmp(optarg, "none"))
				ro.network = BERTH_NET_NONE;
			else {
				cli_usage_error("run", "--network \"%s\": expected awsvpc or none", optarg);
				return BERTH_EXIT_FAIL;
			}
			break;
		case 'S': groups[ngroups++] = optarg; break;
		case 'P': {
			char *end = NULL;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (errno || !end || *end || v < 1 || v > 4194304 || optarg[0] == '-') {
				berth_err_set(&perr, 0, "--pids-limit \"%s\": expected a number from 1 to 4194304",
					      optarg);
				return cli_fail(&perr, BERTH_EXIT_FAIL);
			}
			ro.pids_max = v;
			break;
		}
		case 'h': run_usage(stdout); return 0;
		default:
			cli_usage_error("run", "unknown or incomplete option '%s'", argv[optind - 1]);
			return BERTH_EXIT_FAIL;
		}
	}
	ro.env = envs;
	ro.ports = ports;
	ro.nports = nports;
	ro.groups = ngroups ? groups : NULL;
	if (ro.network == BERTH_NET_NONE && (nports || ngroups)) {
		cli_usage_error("run", "--network none has no ports or security groups; drop -p/--security-group");
		return BERTH_EXIT_FAIL;
	}
	if (ro.network == BERTH_NET_AWSVPC) {
		if (cli_config(c, &perr) < 0)
			return cli_fail(&perr, BERTH_EXIT_FAIL);
		ro.net_config = &c->config.net;
	}
	if (fargate && berth_fargate_check(ro.cpu_units, ro.memory_mib, &perr) < 0)
		return cli_fail(&perr, BERTH_EXIT_FAIL);
	if (!ro.rootfs_dir) {
		if (optind >= argc) {
			cli_usage_error("run", "missing IMAGE");
			return BERTH_EXIT_FAIL;
		}
		ro.image = argv[optind++];
	}
	ro.cmd = argv + optind;
	if (ro.hostname) {
		size_t hl = strlen(ro.hostname);
		if (hl == 0 || hl > 63 || !berth_hostname_valid(ro.hostname)) {
			/* Not echoed: it may hold control characters. */
			cli_usage_error("run", "--hostname: use 1 to 63 letters, digits, '-' and '.'");
			return BERTH_EXIT_FAIL;
		}
	}

	/* stdio */
	struct relay out[2] = {{-1, 1}, {-1, 2}};
	size_t nout = 0;
	int cfd[3] = {-1, 1, 2};
	int stdin_to = -1;
	_cleanup_close_ int devnull = -1;
	_cleanup_close_ int sfd = -1;
	int rc = BERTH_EXIT_FAIL;
	struct berth_err err = {0};
	if (interactive) {
		if (isatty(0)) {
			if (pipe_for(&cfd[0], &stdin_to, false) < 0)
				goto sys_fail;
		} else {
			cfd[0] = 0;
		}
	} else {
		devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (devnull < 0)
			goto sys_fail;
		cfd[0] = devnull;
	}
	for (int fd = 1; fd <= 2; fd++) {
		if (isatty(fd)) {
			if (pipe_for(&cfd[fd], &out[nout].from, true) < 0)
				goto sys_fail;
			out[nout++].to = fd;
		}
	}
	memcpy(ro.stdio, cfd, sizeof(cfd));

	/* Signals are taken through a signalfd from before the container exists,
	 * so none is lost; the runtime clears the mask in the container. */
	sigset_t set, oldset;
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	if (sigprocmask(SIG_BLOCK, &set, &oldset) < 0)
		goto sys_fail;
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		goto sys_fail;

	struct berth_ctr *ctr = NULL;
	struct berth_proc proc = {.pid = -1, .pidfd = -1};
	int exec_errno = 0;
	if (berth_ctr_run(c->root, &ro, &ctr, &proc, &exec_errno, &err) < 0) {
		rc = exec_errno == ENOENT ? 127 : exec_errno ? 126 : BERTH_EXIT_FAIL;
		cli_fail(&err, rc);
		goto close_pipes;
	}
	/* Our copies of the container's pipe ends must go, or EOF never comes. */
	for (int fd = 0; fd <= 2; fd++)
		if (cfd[fd] > 2 && cfd[fd] != devnull)
			close(cfd[fd]), cfd[fd] = -1;

	int code = -1;
	if (supervise(&proc, sfd, out, nout, 0, stdin_to, &code, &err) < 0) {
		pidfd_signal(proc.pidfd, SIGKILL);
		struct berth_err werr = {0};
		berth_proc_wait(&proc, &code, &werr);
		cli_fail(&err, BERTH_EXIT_FAIL);
		code = BERTH_EXIT_FAIL;
	}
	stdin_to = -1;
	struct berth_err ferr = {0};
	if (berth_ctr_finish(ctr, code, &ferr) < 0)
		fprintf(stderr, "berth: warning: %s\n", ferr.msg);
	berth_trace("finished");
	if (ctr->reason)
		fprintf(stderr, "berth: container %.12s stopped: %s\n", ctr->id, ctr->reason);
	berth_ctr_free(ctr);
	sigprocmask(SIG_SETMASK, &oldset, NULL);
	return code;

sys_fail:
	berth_err_set(&err, errno, "run: set up stdio and signals");
	cli_fail(&err, BERTH_EXIT_FAIL);
close_pipes:
	for (int fd = 0; fd <= 2; fd++)
		if (cfd[fd] > 2 && cfd[fd] != devnull)
			close(cfd[fd]);
	for (size_t i = 0; i < nout; i++)
		if (out[i].from >= 0)
			close(out[i].from);
	if (stdin_to >= 0)
		close(stdin_to);
	return rc;
}

/* netbench — per-task network setup and teardown cost of netns/, natively.
 *
 * Runs entirely inside a network namespace of its own (unshare at start), so
 * the bridge, the veths, the nftables tables and ip_forward it touches are
 * private and vanish with it; the lease state goes to a temporary directory.
 * Sets up N task networks one after another (each with one published port,
 * so every task also pays its nftables transaction), then tears them all
 * down, and prints one line "BENCH-RESULT {json}" with per-task times.
 *
 *   netbench [N [noports]]     (default 500 tasks, each publishing a port)
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "netns/netns.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(const double *sorted, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return sorted[i < n ? i : n - 1];
}

/* p50/p90/max of v[from..to) as a JSON object. */
static void stats(const char *name, const double *v, size_t from, size_t to, bool comma)
{
	size_t n = to - from;
	double *s = malloc(n * sizeof(double));
	if (!s)
		exit(1);
	memcpy(s, v + from, n * sizeof(double));
	qsort(s, n, sizeof(double), cmp_double);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += s[i];
	printf("\"%s\": {\"n\": %zu, \"mean\": %.4f, \"p50\": %.4f, \"p90\": %.4f, \"max\": %.4f}%s", name, n,
	       sum / (double)n, pct(s, n, 0.5), pct(s, n, 0.9), s[n - 1], comma ? ", " : "");
	free(s);
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 500;
	bool ports = !(argc > 2 && strcmp(argv[2], "noports") == 0);
	if (n < 1 || n > 4000) {
		fprintf(stderr, "usage: netbench [N (1-4000)]\n");
		return 2;
	}
	/* Private network and mount namespaces: the state goes to a tmpfs, as
	 * /run/berth is on a systemd host. */
	char dir[] = "/tmp/berth-netbench-XXXXXX";
	if (!mkdtemp(dir)) {
		perror("netbench: mkdtemp");
		return 1;
	}
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", dir, "tmpfs", 0, "mode=0700") < 0) {
		perror("netbench: private network namespace and tmpfs (run as root)");
		rmdir(dir);
		return 1;
	}
	struct berth_net_config cfg;
	berth_net_config_default(&cfg);
	cfg.state_dir = dir;
	cfg.mtu = 1500;
	if (getenv("NETBENCH_SLICE"))
		cfg.bridge_plen = (uint8_t)atoi(getenv("NETBENCH_SLICE"));
	struct berth_err err = {0};
	struct berth_net *net = NULL;
	struct berth_net_task *t = calloc(n, sizeof(*t));
	double *up = calloc(n, sizeof(double)), *down = calloc(n, sizeof(double));
	char (*ids)[33] = calloc(n, sizeof(*ids));
	if (!t || !up || !down || !ids || berth_net_open(&cfg, &net, &err) < 0) {
		fprintf(stderr, "netbench: %s\n", err.msg[0] ? err.msg : "out of memory");
		return 1;
	}
	int rc = 0;
	size_t made = 0;
	for (size_t i = 0; i < n; i++) {
		snprintf(ids[i], sizeof(ids[i]), "%013zx%019zx", i + 1, i + 1);
		struct berth_port port = {.proto = BERTH_PROTO_TCP, .ctr_port = 80, .host_port = (uint16_t)(20000 + i)};
		struct berth_net_request req = {.task_id = ids[i], .ports = &port, .nports = ports ? 1 : 0,
						.owner = getpid()};
		uint64_t t0 = berth_now_ns();
		if (berth_net_setup(net, &req, &t[i], &err) < 0) {
			fprintf(stderr, "netbench: task %zu: %s\n", i, err.msg);
			rc = 1;
			break;
		}
		up[i] = (double)(berth_now_ns() - t0) / 1e6;
		made++;
	}
	for (size_t i = 0; i < made; i++) {
		uint64_t t0 = berth_now_ns();
		berth_net_task_close(&t[i]);
		if (berth_net_teardown(net, ids[i], BERTH_NET_NS_RELEASED, &err) < 0) {
			fprintf(stderr, "netbench: teardown %zu: %s\n", i, err.msg);
			rc = 1;
		}
		down[i] = (double)(berth_now_ns() - t0) / 1e6;
	}
	if (made == n) {
		printf("BENCH-RESULT {\"tasks\": %zu, \"published_port\": %s, ", n, ports ? "true" : "false");
		stats("setup_first_100", up, 0, n < 100 ? n : 100, true);
		if (n > 400)
			stats("setup_400_to_500", up, 400, n < 500 ? n : 500, true);
		stats("setup_all", up, 0, n, true);
		stats("teardown_all", down, 0, n, false);
		printf("}\n");
	}
	berth_net_close(net);
	umount2(dir, MNT_DETACH);
	rmdir(dir);
	free(t);
	free(up);
	free(down);
	free(ids);
	return rc;
}

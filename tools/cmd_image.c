/* berth CLI — `berth image load|ls|rm` and `berth images`. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "images/images.h"
#include "scheduler/container.h"
#include "tools/cli.h"

static void image_usage(FILE *f)
{
	fprintf(f, "usage: berth image COMMAND\n"
		   "\n"
		   "Manage images.\n"
		   "\n"
		   "commands:\n"
		   "  load [--name NAME] PATH   import an OCI image layout directory or a\n"
		   "                            'docker save' tarball (--name: name the one image in it)\n"
		   "  ls [-q|--quiet]           list images (-q: names only)\n"
		   "  rm NAME...                remove images by name or ID, and every layer\n"
		   "                            no remaining image uses\n"
		   "\n"
		   "'berth images' is 'berth image ls'.\n");
}

static int open_store(const struct cli *c, struct berth_store **s, struct berth_err *err)
{
	struct berth_store_opts opts = berth_ctr_store_opts(c->root, c->max_layer_bytes);
	return berth_store_open(c->root, &opts, s, err);
}

static bool is_help(const char *a)
{
	return !strcmp(a, "-h") || !strcmp(a, "--help");
}

static int image_load(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"name", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *name = NULL;
	int o;
	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+n:h", opts, NULL)) != -1) {
		switch (o) {
		case 'n': name = optarg; break;
		case 'h': image_usage(stdout); return 0;
		default:
			return cli_usage_error("image", "load: unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("image", "load takes exactly one PATH (an OCI image layout "
				       "directory or a docker save tarball)");
	const char *path = argv[optind];
	struct berth_err err = {0};
	struct berth_store *s = NULL;
	if (open_store(c, &s, &err) < 0)
		return cli_fail(&err, 1);
	_cleanup_strv_ char **names = NULL;
	int rc = 0;
	if (berth_image_load(s, path, name, &names, &err) < 0) {
		rc = cli_fail(&err, 1);
	} else {
		for (size_t i = 0; names && names[i]; i++) {
			struct berth_image *img = NULL;
			if (berth_image_get(s, names[i], &img, &err) < 0) {
				rc = cli_fail(&err, 1);
				break;
			}
			printf("Loaded image %s (%s)\n", img->name, img->config_digest);
			berth_image_free(img);
		}
	}
	berth_store_close(s);
	return rc;
}

/* Docker's style: three significant digits, decimal units. */
static void human_size(uint64_t n, char *out, size_t outsz)
{
	static const char *units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
	double v = (double)n;
	size_t u = 0;
	while (v >= 999.5 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1000.0;
		u++;
	}
	snprintf(out, outsz, "%.3g%s", v, units[u]);
}

static int image_ls(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	bool quiet = false;
	int o;
	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+qh", opts, NULL)) != -1) {
		switch (o) {
		case 'q': quiet = true; break;
		case 'h': image_usage(stdout); return 0;
		default:
			return cli_usage_error("image", "ls: unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("image", "ls takes no arguments (got '%s')", argv[optind]);
	struct berth_err err = {0};
	struct berth_store *s = NULL;
	if (open_store(c, &s, &err) < 0)
		return cli_fail(&err, 1);
	struct berth_image **imgs = NULL;
	size_t n = 0;
	int rc = 0;
	if (berth_image_list(s, &imgs, &n, &err) < 0) {
		rc = cli_fail(&err, 1);
		goto out;
	}
	int w = 4;
	for (size_t i = 0; i < n; i++)
		if ((int)strlen(imgs[i]->name) > w)
			w = (int)strlen(imgs[i]->name);
	if (!quiet)
		printf("%-*s  %-12s  %s\n", w, "NAME", "IMAGE ID", "SIZE");
	for (size_t i = 0; i < n; i++) {
		if (quiet) {
			printf("%s\n", imgs[i]->name);
			continue;
		}
		char size[32];
		human_size(imgs[i]->size, size, sizeof(size));
		const char *hex = berth_digest_hex(imgs[i]->config_digest);
		printf("%-*s  %.12s  %s\n", w, imgs[i]->name, hex ? hex : "?", size);
	}
out:
	for (size_t i = 0; i < n; i++)
		berth_image_free(imgs[i]);
	free(imgs);
	berth_store_close(s);
	return rc;
}

static int image_rm(struct cli *c, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error("image", "rm needs at least one image NAME or ID");
	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			image_usage(stdout);
			return 0;
		}
		if (argv[i][0] == '-' && argv[i][1])
			return cli_usage_error("image", "rm: unknown option '%s'", argv[i]);
	}
	struct berth_err err = {0};
	struct berth_store *s = NULL;
	if (open_store(c, &s, &err) < 0)
		return cli_fail(&err, 1);
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		if (berth_image_remove(s, argv[i], &err) < 0)
			rc = cli_fail(&err, 1);
		else
			printf("Removed %s\n", argv[i]);
	}
	berth_store_close(s);
	return rc;
}

int cmd_image(struct cli *c, int argc, char **argv)
{
	if (!strcmp(argv[0], "images"))
		return image_ls(c, argc, argv);
	if (argc < 2) {
		image_usage(stderr);
		return 2;
	}
	const char *sub = argv[1];
	if (is_help(sub) || !strcmp(sub, "help")) {
		image_usage(stdout);
		return 0;
	}
	if (!strcmp(sub, "load"))
		return image_load(c, argc - 1, argv + 1);
	if (!strcmp(sub, "ls") || !strcmp(sub, "list"))
		return image_ls(c, argc - 1, argv + 1);
	if (!strcmp(sub, "rm") || !strcmp(sub, "remove"))
		return image_rm(c, argc - 1, argv + 1);
	return cli_usage_error("image", "unknown command '%s'", sub);
}

/*
 * chorusd.c: the chorusd command line: dispatches to `serve` and
 * `customer`.
 */
#include "main/chorusd.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
	        "chorusd %s: multi-party audio conference server\n"
	        "\n"
	        "usage: chorusd serve [options]       run the server (see "
	        "chorusd serve --help)\n"
	        "       chorusd customer add NAME ... create a customer and "
	        "its API token\n"
	        "       chorusd customer list         list customers\n"
	        "       chorusd --version\n",
	        CH_VERSION);
}

int main(int argc, char **argv)
{
	/* the journal's line style when stderr is the journal (systemd) */
	ch_log_open();
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("chorusd %s\n", CH_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "serve"))
		return ch_chorusd_serve(argc - 2, argv + 2);
	if (!strcmp(argv[1], "customer"))
		return ch_chorusd_customer(argc - 2, argv + 2);
	fprintf(stderr,
	        "chorusd: unknown command \"%s\" (see chorusd --help)\n",
	        argv[1]);
	return 2;
}

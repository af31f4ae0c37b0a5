/*
 * api_instance.h: the process-wide Chorus API that the API fuzz targets
 * (fuzz_http_api.c, fuzz_json_params.c, fuzz_cluster_msg.c) send their
 * requests to. Header only; each target includes it once, and it defines
 * the target's LLVMFuzzerInitialize.
 *
 * One instance is: libre, a SQLite store in a mkdtemp folder, the event
 * hub, the core (no media layer) and ch_api_alloc on 127.0.0.1 port 0,
 * with one customer whose token is the fixed FZ_TOKEN, inserted directly
 * into the store so that inputs can authenticate.
 *
 * Bounded growth: every accepted POST adds a conference (rows, a live
 * entry, timers), so the instance is torn down and built again, in a new
 * folder, every FZ_RESET_RUNS requests. The folder is removed at exit.
 *
 * After each request the libre timers that are due (room ready, kicked
 * participants leaving, timeouts) run, so later inputs meet conferences in
 * every state. Paths and queries may name "{conf}" and "{cc}": they are
 * replaced by the last conference created and the last participant added
 * (the instance adds a joined participant to each conference created).
 */
#ifndef CH_FUZZ_API_INSTANCE_H
#define CH_FUZZ_API_INSTANCE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <jansson.h>

#include <re_types.h>
#include <re_list.h>
#include <re_main.h>
#include <re_sa.h>
#include <re_tmr.h>

#include "api/api.h"
#include "core/conference.h"
#include "core/conferencecall.h"
#include "core/core.h"
#include "events/events.h"
#include "store/store.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/token.h"
#include "util/uuid.h"

#include "../unit/tmpdir.h"

#define FZ_TOKEN      "fuzztoken"
#define FZ_RESET_RUNS 4096
#define FZ_PATH_MAX   1024

struct fz {
	bool open;
	char dir[CH_TEST_DIR_MAX];
	struct ch_store *st;
	struct ch_events *ev;
	struct ch_core *core;
	struct ch_api *api;
	char cust_id[CH_UUID_LEN];
	char conf[CH_UUID_LEN]; /* last conference created, "{conf}" */
	char cc[CH_UUID_LEN];   /* last participant added, "{cc}" */
	unsigned runs;
};

static struct fz fz_g;
/* Always readable (never read): registered in the libre loop so that
 * fz_run_timers() polls without waiting for the 1 ms that libre's loop
 * otherwise sleeps before running timers that are already due. */
static int fz_wake_fd = -1;

static inline void fz_check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz instance: %s failed\n", what);
		abort();
	}
}

static inline void fz_open(struct fz *z)
{
	struct ch_customer c;
	struct sa laddr;

	ch_test_tmpdir(z->dir, "ch-fuzz");
	fz_check(!ch_store_open_sqlite(&z->st, z->dir), "store");
	fz_check(!ch_events_alloc(&z->ev, z->st, 1000), "events");
	fz_check(!ch_core_alloc(&z->core, z->st, z->ev, "fuzz"), "core");
	fz_check(!sa_set_str(&laddr, "127.0.0.1", 0), "address");
	fz_check(!ch_api_alloc(&z->api, z->core, &laddr), "api");
	memset(&c, 0, sizeof(c));
	ch_uuid_new(c.id);
	snprintf(c.name, sizeof(c.name), "fuzz");
	ch_token_hash(FZ_TOKEN, c.token_hash);
	c.tm_create = ch_time_now_us();
	fz_check(!z->st->ops->customer_insert(z->st, &c), "customer");
	memcpy(z->cust_id, c.id, CH_UUID_LEN);
	memcpy(z->conf, CH_UUID_NIL, CH_UUID_LEN);
	memcpy(z->cc, CH_UUID_NIL, CH_UUID_LEN);
	z->runs = 0;
	z->open = true;
}

static inline void fz_close(struct fz *z)
{
	if (!z->open)
		return;
	ch_api_free(z->api);
	ch_core_free(z->core);
	ch_events_free(z->ev);
	ch_store_close(z->st);
	ch_test_rmtree(z->dir);
	z->open = false;
}

static inline void fz_atexit(void)
{
	fz_close(&fz_g);
	if (fz_wake_fd >= 0) {
		fd_close(fz_wake_fd);
		close(fz_wake_fd);
	}
}

static inline void fz_wake_h(int flags, void *arg)
{
	(void)flags;
	(void)arg;
}

static inline void fz_stop_h(void *arg)
{
	(void)arg;
	re_cancel();
}

/* Runs the libre timers that are due, then returns. */
static inline void fz_run_timers(void)
{
	struct tmr t;
	tmr_init(&t);
	tmr_start(&t, 0, fz_stop_h, NULL);
	(void)re_main(NULL);
	tmr_cancel(&t);
}

/* The instance, built on first use and rebuilt every FZ_RESET_RUNS. */
static struct fz *fz_get(void)
{
	struct fz *z = &fz_g;
	if (!z->open) {
		static bool once;
		if (!once) {
			fz_check(!libre_init(), "libre_init");
			fz_wake_fd = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
			fz_check(fz_wake_fd >= 0 &&
			             !fd_listen(fz_wake_fd, FD_READ, fz_wake_h,
			                        NULL),
			         "wake fd");
			ch_log_set_level(CH_LOG_ERROR);
			atexit(fz_atexit);
			once = true;
		}
		fz_open(z);
	}
	if (++z->runs > FZ_RESET_RUNS) {
		fz_close(z);
		fz_open(z);
		z->runs = 1;
	}
	return z;
}

/* For LLVMFuzzerInitialize: puts -detect_leaks=0 first in the flags.
 * libFuzzer's check after each input runs a full LeakSanitizer pass
 * whenever an input leaves more blocks allocated than it freed, which
 * every accepted POST does by design (the conference stays live): that
 * pass costs more than the input. A -detect_leaks given on the command
 * line comes later and still wins, and real leaks are still reported at
 * exit, after fz_atexit() has freed the instance. */
static inline void fz_default_flags(int *argc, char ***argv)
{
	static char flag[] = "-detect_leaks=0";
	static char *args[256];
	int n = *argc;

	if (n < 1 || n + 2 > (int)(sizeof(args) / sizeof(*args)))
		return;
	args[0] = (*argv)[0];
	args[1] = flag;
	for (int i = 1; i < n; i++)
		args[i + 1] = (*argv)[i];
	args[n + 1] = NULL;
	*argc = n + 1;
	*argv = args;
}

/* Copies path into out with "{conf}" and "{cc}" replaced. */
static inline void fz_subst(const struct fz *z, const char *path, char *out,
                            size_t size)
{
	size_t o = 0;
	while (*path && o + 1 < size) {
		const char *rep = NULL;
		size_t skip = 0;
		if (!strncmp(path, "{conf}", 6)) {
			rep = z->conf;
			skip = 6;
		} else if (!strncmp(path, "{cc}", 4)) {
			rep = z->cc;
			skip = 4;
		}
		if (rep) {
			size_t n = strlen(rep);
			if (o + n + 1 >= size)
				break;
			memcpy(out + o, rep, n);
			o += n;
			path += skip;
		} else {
			out[o++] = *path++;
		}
	}
	out[o] = '\0';
}

/* A POST /conferences answered 200: remember the conference, and once
 * its room is ready give it a joined participant. */
static inline void fz_created(struct fz *z, const char *resp)
{
	json_t *o = json_loads(resp, 0, NULL);
	const char *id = json_string_value(json_object_get(o, "id"));
	struct ch_conferencecall cc;

	fz_check(id && ch_uuid_valid(id), "POST answer with an id");
	snprintf(z->conf, sizeof(z->conf), "%s", id);
	json_decref(o);
	fz_run_timers();
	if (!ch_conferencecall_create(z->core, z->conf, "call", CH_UUID_NIL,
	                              "fuzz", false, &cc)) {
		(void)ch_conferencecall_joined(z->core, cc.id);
		memcpy(z->cc, cc.id, CH_UUID_LEN);
	}
}

/* Serves one request, checks the answer's shape, runs due timers.
 * Returns the HTTP status. */
static inline uint16_t fz_request(struct fz *z, const char *method,
                                  const char *path, const char *query,
                                  const char *auth, const char *body,
                                  size_t body_len)
{
	char p[FZ_PATH_MAX + 64], *q = NULL;
	char *resp = NULL;
	uint16_t status;

	fz_subst(z, path, p, sizeof(p));
	if (query) {
		/* each 4-byte "{cc}" may become 36 bytes */
		size_t qlen = strlen(query) * 9 + 1;
		q = malloc(qlen);
		fz_check(q != NULL, "malloc");
		fz_subst(z, query, q, qlen);
	}
	status =
	    ch_api_handle(z->api, method, p, q, auth, body, body_len, &resp);
	free(q);
	/* every answer is a JSON object; errors carry their status. The one
	 * exception: GET /metrics answered 200 is Prometheus text */
	fz_check(resp != NULL, "response body");
	if (status == 200 && !strcmp(method, "GET") && !strcmp(p, "/metrics")) {
		fz_check(!strncmp(resp, "# HELP chorus_", 14),
		         "Prometheus text");
		free(resp);
		fz_run_timers();
		return status;
	}
	json_t *o = json_loads(resp, 0, NULL);
	fz_check(json_is_object(o), "JSON response");
	json_t *e = json_object_get(o, "error");
	if (status >= 400)
		fz_check(json_integer_value(json_object_get(e, "status")) ==
		             status,
		         "error status");
	else
		fz_check(status == 200 && !e, "success answer");
	json_decref(o);
	if (status == 200 && !strcmp(method, "POST") &&
	    !strcmp(p, "/v1.0/conferences"))
		fz_created(z, resp);
	free(resp);
	fz_run_timers();
	return status;
}

/* libFuzzer's start-up hook of every target that includes this header:
 * the default flags, then the instance built once before the first input
 * (so its cost is not the first input's). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_default_flags(argc, argv);
	(void)fz_get();
	fz_g.runs = 0;
	return 0;
}

#endif

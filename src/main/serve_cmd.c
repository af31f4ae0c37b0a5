/*
 * serve_cmd.c: `chorusd serve`: reads settings, opens the store, starts
 * the event hub, the core and the API on one libre main loop (the control
 * thread), and shuts down cleanly on SIGTERM/SIGINT.
 *
 * Exit codes: 0 after a clean shutdown, 2 for a bad option or setting, a
 * port in use, or a store that cannot be trusted (a data folder or
 * chorus.db that cannot be written, a corrupt chorus.db, an existing empty
 * one without --init), 1 for other failures.
 */
#include "api/api.h"
#include "cluster/cluster.h"
#include "core/core.h"
#include "events/events.h"
#include "media/engine.h"
#include "core/conference_record.h"
#include "media/pcm.h"
#include "services/player.h"
#include "services/recorder.h"
#include "services/stt.h"
#include "services/transcriber.h"
#include "core/conference_transcribe.h"
#include "sip/sip.h"
#include "main/chorusd.h"
#include "store/store.h"
#include "util/config.h"
#include "util/log.h"

#include <re_types.h>
#include <re_fmt.h>
#include <re_sa.h>
#include <re_main.h>
#include <re_list.h>
#include <re_tmr.h>
#define DEBUG_MODULE "chorusd"
#define DEBUG_LEVEL  0
#include <re_dbg.h>

#include "api/httpd.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

static const char *const opt_keys[] = {
    "data-dir",
    "store",
    "nats",
    "http",
    "metrics",
    "sip",
    "rtp-ports",
    "public-ip",
    "log-level",
    "node-name",
    "webhook-timeout-ms",
    "media-workers",
    "opus-complexity",
    "opus-application",
    "dial-timeout",
    "sip-ack-timeout",
    "sip-unconfirmed-per-ip",
    "http-max-conns",
    "http-max-conns-per-ip",
    "http-head-timeout",
    "http-idle-timeout",
    "events-retention",
    "media-dir",
    "play-max-mb",
    "play-timeout",
    "play-max-seconds",
    "stt-engine",
    "stt-sphinx-model",
    "stt-sphinx-lm",
    "stt-sphinx-dict",
    "stt-http-url",
    "stt-http-model",
    "stt-http-key",
    "stt-http-timeout-ms",
    "stt-http-retries",
    "stt-decoders",
    "stt-sphinx-search",
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: chorusd serve [--config FILE] [--data-dir DIR] "
	        "[--http HOST:PORT]\n"
	        "                     [--sip HOST:PORT] [--rtp-ports LO-HI] "
	        "[--public-ip IP]\n"
	        "                     [--log-level LEVEL] [--node-name NAME] "
	        "[--init]\n"
	        "\n"
	        "Runs the Chorus conference server. Settings come from the "
	        "built-in\n"
	        "defaults, then FILE, then the flags.\n"
	        "\n"
	        "  --config FILE        lines of \"key = value\"; keys are the "
	        "flag names\n"
	        "                       without \"--\" (e.g. http = "
	        "127.0.0.1:8080)\n"
	        "  --data-dir DIR       SQLite store and files (default "
	        "./data)\n"
	        "  --store URL          sqlite (the default: DIR/chorus.db) or "
	        "postgres://...\n"
	        "                       (libpq URI; several nodes may share "
	        "one)\n"
	        "  --nats URL           nats://host:port: join the cluster of "
	        "nodes on this\n"
	        "                       store (needs --store postgres://, a "
	        "unique --node-name)\n"
	        "  --http HOST:PORT     REST API and WebSocket (default "
	        "127.0.0.1:8080;\n"
	        "                       port 0 picks a free port)\n"
	        "  --metrics HOST:PORT  GET /metrics without a token on its "
	        "own listener\n"
	        "                       (default none: /metrics on the API "
	        "needs a token)\n"
	        "  --sip HOST:PORT      SIP over UDP and TCP (default "
	        "127.0.0.1:5060;\n"
	        "                       port 0 picks a free port)\n"
	        "  --rtp-ports LO-HI    RTP port range (default 20000-29999)\n"
	        "  --public-ip IP       address written in SDP (default: the "
	        "SIP address)\n"
	        "  --log-level LEVEL    debug, info, warn or error (default "
	        "info)\n"
	        "  --node-name NAME     this node's name, reported as "
	        "mixer_region (default\n"
	        "                       local)\n"
	        "  --webhook-timeout-ms N  bound on one webhook POST (default "
	        "10000)\n"
	        "  --media-workers N    media threads (default 0: one per "
	        "core)\n"
	        "  --opus-complexity N  Opus encoder complexity 0-10 "
	        "(default 5)\n"
	        "  --opus-application A lowdelay (CELT only, the default: "
	        "cheaper, no FEC)\n"
	        "                       or voip (SILK, in-band FEC)\n"
	        "  --dial-timeout S     ring time of a dial-out before "
	        "noanswer (default 30)\n"
	        "  --sip-ack-timeout S  an answered dial-in without ACK is "
	        "ended and its\n"
	        "                       ports freed after S s (default 10, "
	        "at most 32)\n"
	        "  --sip-unconfirmed-per-ip N  un-ACKed dial-ins one address "
	        "may hold;\n"
	        "                       past it 503 + Retry-After (default "
	        "20)\n"
	        "  --init               accept an existing empty chorus.db "
	        "(0 bytes or no\n"
	        "                       schema) and make a new store in it; "
	        "without it\n"
	        "                       such a file is refused (exit 2)\n"
	        "  --http-max-conns N   open HTTP connections; past it 503 "
	        "(default 4096)\n"
	        "  --http-max-conns-per-ip N  the same per client address "
	        "(default 3072)\n"
	        "  --http-head-timeout S  a request head must arrive within S "
	        "(default 10)\n"
	        "  --http-idle-timeout S  idle keep-alive connections close "
	        "(default 60)\n"
	        "  --events-retention T  keep delivered events T: seconds or "
	        "7d, 12h... (default 7d)\n"
	        "  --media-dir DIR      the only folder file:// URLs may "
	        "play from\n"
	        "                       (absolute; default none: file:// "
	        "refused)\n"
	        "  --play-max-mb N      most MiB fetched per played URL "
	        "(default 50)\n"
	        "  --play-timeout S     connect + download bound per URL "
	        "(default 30)\n"
	        "  --play-max-seconds S longest clip played (default 600)\n"
	        "  --stt-engine E       transcription engine of a request "
	        "naming none:\n"
	        "                       sphinx (default) or http\n"
	        "  --stt-sphinx-model DIR, --stt-sphinx-lm F, "
	        "--stt-sphinx-dict F\n"
	        "                       pocketsphinx files (default: "
	        "pocketsphinx-en-us)\n"
	        "  --stt-http-url URL   OpenAI-compatible speech-to-text "
	        "service (default\n"
	        "                       none); --stt-http-model M (whisper-1), "
	        "--stt-http-key K,\n"
	        "                       --stt-http-timeout-ms N (15000), "
	        "--stt-http-retries N (2)\n"
	        "  --stt-decoders N     speech-to-text threads (default 2)\n"
	        "  --stt-sphinx-search fast|full  pocketsphinx search width "
	        "(default fast:\n"
	        "                       about half the CPU of full, a few "
	        "points less accurate)\n"
	        "\n"
	        "Files: DIR/chorus.db, DIR/recordings/ (recordings), "
	        "DIR/tts-cache/\n"
	        "(rendered speech).\n"
	        "\n"
	        "On an empty data folder a customer \"default\" is created "
	        "and its token\n"
	        "printed, this once (the store keeps only its hash). A new "
	        "token:\n"
	        "chorusd customer token NAME. More customers: chorusd "
	        "customer add NAME.\n"
	        "Stops cleanly on SIGTERM or SIGINT.\n");
}

/* libre's own diagnostics go to our log, one line each, at debug level
 * (chorusd reports the failures that matter itself). */
static void libre_log_h(int level, const char *p, size_t len, void *arg)
{
	(void)arg;
	(void)level;
	while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	ch_log_debug("libre", "%.*s", (int)len, p);
}

static struct ch_sip *g_sip; /* for the signal handler's hang-up */
static struct tmr g_stop_tmr;

static void stop_h(void *arg)
{
	(void)arg;
	re_cancel();
}

/* First signal: hang every call up and give the BYEs a moment to leave;
 * a second signal stops at once. */
static void signal_h(int sig)
{
	if (tmr_isrunning(&g_stop_tmr)) {
		re_cancel();
		return;
	}
	ch_log_info("main", "signal %d: shutting down", sig);
	if (g_sip)
		ch_sip_hangup_all(g_sip);
	tmr_start(&g_stop_tmr, g_sip ? 500 : 0, stop_h, NULL);
}

static int first_h(const struct ch_customer *c, void *arg)
{
	*(struct ch_customer *)arg = *c;
	return 1;
}

/* Finds the first customer, creating "default" on an empty store; token
 * is set ("" otherwise) only when it was created now. */
static int default_customer(struct ch_store *st, struct ch_customer *out,
                            char token[CH_TOKEN_LEN])
{
	int err;
	memset(out, 0, sizeof(*out));
	token[0] = '\0';
	err = st->ops->customer_list(st, first_h, out);
	if (err || out->id[0])
		return err;
	return ch_chorusd_customer_new(st, "default", NULL, out, token);
}

/* The start-up banner. The token is known (and shown) only on the start
 * that created the customer: the store keeps its hash. */
static void banner(const char *url, const char *sip,
                   const struct ch_customer *cust, const char *token,
                   const char *data_dir, bool pg)
{
	printf("Chorus %s is running.\n"
	       "  API:   %s\n"
	       "  SIP:   %s (UDP and TCP)\n",
	       CH_VERSION, url, sip);
	if (token[0])
		printf("  Token: %s   (customer \"%s\" %s, created now; "
		       "shown this once)\n"
		       "  Try:   curl -s -H 'Authorization: Bearer %s' -d "
		       "'{\"type\":\"conference\",\"name\":\"standup\"}' "
		       "%s/conferences\n",
		       token, cust->name, cust->id, token, url);
	else
		printf("  Customer: \"%s\" %s (its token is stored hashed "
		       "and not shown;\n"
		       "            a new one: chorusd customer token %s "
		       "%s%s)\n",
		       cust->name, cust->id, cust->name,
		       /* not the URI itself: it may hold a password */
		       pg ? "--store URL" : "--data-dir ", pg ? "" : data_dir);
	fflush(stdout);
}

static int parse_args(int argc, char **argv, struct ch_config *cfg, bool *init)
{
	char why[256];
	const char *config = NULL;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--config")) {
			if (i + 1 >= argc) {
				ch_log_fatal("chorusd: --config needs a "
				             "file\n");
				return 2;
			}
			config = argv[i + 1];
		}
	}
	if (config && ch_config_load(cfg, config, why, sizeof(why))) {
		ch_log_fatal("chorusd: %s\n", why);
		return 2;
	}
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		bool known = false;
		if (!strcmp(a, "--config")) {
			i++;
			continue;
		}
		if (!strcmp(a, "--init")) {
			*init = true;
			continue;
		}
		if (strncmp(a, "--", 2)) {
			ch_log_fatal("chorusd serve: unexpected argument "
			             "\"%s\" (see --help)\n",
			             a);
			return 2;
		}
		for (size_t k = 0; k < sizeof(opt_keys) / sizeof(*opt_keys);
		     k++) {
			if (strcmp(a + 2, opt_keys[k]))
				continue;
			known = true;
			if (ch_config_set(cfg, opt_keys[k],
			                  i + 1 < argc ? argv[i + 1] : NULL,
			                  why, sizeof(why))) {
				ch_log_fatal("chorusd: --%s\n", why);
				return 2;
			}
			i++;
			break;
		}
		if (!known) {
			ch_log_fatal("chorusd serve: unknown option \"%s\" "
			             "(see --help)\n",
			             a);
			return 2;
		}
	}
	return 0;
}

struct daemon {
	struct ch_store *st;
	struct ch_events *ev;
	struct ch_core *core;
	struct ch_media_engine *eng;
	struct ch_sip *sip;
	struct ch_api *api;
	struct ch_player *player;
	struct ch_recorder *recorder;
	struct ch_stt_engine *stt[2]; /* by enum ch_stt_kind; NULL: off */
	struct ch_transcriber *transcriber;
	struct ch_cluster *cluster; /* NULL: one node */
	char rec_dir[600];
};

/* Engine events go to the SIP layer, which knows the calls. */
static void talking_h(void *arg, uint32_t leg, bool talking)
{
	struct daemon *d = arg;
	if (d->sip)
		ch_sip_talking(d->sip, leg, talking);
}

static void rtp_timeout_h(void *arg, uint32_t leg)
{
	struct daemon *d = arg;
	if (d->sip)
		ch_sip_rtp_timeout(d->sip, leg);
}

static void rtp_resumed_h(void *arg, uint32_t leg)
{
	struct daemon *d = arg;
	if (d->sip)
		ch_sip_rtp_resumed(d->sip, leg);
}

static void dtls_h(void *arg, uint32_t leg)
{
	struct daemon *d = arg;
	if (d->sip)
		ch_sip_dtls(d->sip, leg);
}

static void room_play_done_h(void *arg, uint32_t room, uint32_t play_id,
                             bool finished)
{
	struct daemon *d = arg;
	if (d->sip)
		ch_sip_room_play_done(d->sip, room, play_id, finished);
}

static void leg_play_done_h(void *arg, uint32_t leg, uint32_t play_id,
                            bool finished)
{
	struct daemon *d = arg;
	if (d->sip)
		ch_sip_leg_play_done(d->sip, leg, play_id, finished);
}

/* Says a listener could not start; the exit code (2). */
static int listen_failed(const char *what, const char *host, unsigned port,
                         int err)
{
	ch_log_fatal(
	    "chorusd: cannot listen for %s on %s:%u: %s\n", what, host, port,
	    err == EADDRINUSE ? "address already in use" : strerror(err));
	return 2;
}

static void tap_detached_h(void *arg, uint32_t room, struct ch_media_tap *tap)
{
	struct daemon *d = arg;
	if (d->sip)
		ch_sip_tap_detached(d->sip, room, tap);
}

static void player_done_h(void *arg, uint64_t job, int err, const char *why,
                          struct ch_pcm *pcm)
{
	struct daemon *d = arg;
	if (d->sip)
		ch_sip_player_done(d->sip, job, err, why, pcm);
	else
		ch_pcm_free(pcm);
}

static void recorder_done_h(void *arg, const struct ch_recorder_result *r)
{
	struct daemon *d = arg;
	struct ch_core_rec_result res = {
	    .err = r->err,
	    .duration_ms = r->duration_ms,
	    .rate = r->rate,
	    .channels = r->channels,
	    .size = r->size,
	};
	if (d->core)
		ch_core_recording_done(d->core, r->id, &res);
}

static void transcript_h(void *arg, const struct ch_transcriber_seg *g)
{
	struct daemon *d = arg;
	if (d->sip)
		ch_sip_transcript(d->sip, g);
}

static void transcribe_done_h(void *arg, const struct ch_transcriber_done *t)
{
	struct daemon *d = arg;
	if (d->sip)
		ch_sip_transcribe_done(d->sip, t);
	else if (d->core)
		ch_core_transcribe_done(d->core, t->id, t->dropped_ms);
}

/* The speech-to-text engines and the transcriber. An engine that cannot
 * open is off (logged; requests naming it get 400), unless its settings
 * were given: then chorusd does not start (exit 2). */
static int stt_open(struct daemon *d, const struct ch_config *cfg)
{
	struct ch_stt_cfg sc = {
	    .sphinx_model =
	        cfg->stt_sphinx_model[0] ? cfg->stt_sphinx_model : NULL,
	    .sphinx_lm = cfg->stt_sphinx_lm[0] ? cfg->stt_sphinx_lm : NULL,
	    .sphinx_dict =
	        cfg->stt_sphinx_dict[0] ? cfg->stt_sphinx_dict : NULL,
	    .sphinx_fast = cfg->stt_sphinx_fast,
	    .http_url = cfg->stt_http_url,
	    .http_model = cfg->stt_http_model,
	    .http_key = cfg->stt_http_key[0] ? cfg->stt_http_key : NULL,
	    .http_timeout_ms = cfg->stt_http_timeout_ms,
	    .http_retries = cfg->stt_http_retries,
	};
	enum ch_stt_kind def = CH_STT_SPHINX;
	(void)ch_stt_kind_parse(cfg->stt_engine, &def);
	for (int k = CH_STT_SPHINX; k <= CH_STT_HTTP; k++) {
		if (k == CH_STT_HTTP && !cfg->stt_http_url[0] &&
		    def != CH_STT_HTTP)
			continue; /* not configured, not wanted */
		int err =
		    ch_stt_engine_open(&d->stt[k], (enum ch_stt_kind)k, &sc);
		bool given = k == CH_STT_HTTP ? cfg->stt_http_url[0] != 0
		                              : cfg->stt_sphinx_model[0] ||
		                                    cfg->stt_sphinx_lm[0] ||
		                                    cfg->stt_sphinx_dict[0];
		if (err && given) {
			ch_log_fatal(
			    "chorusd: the %s speech-to-text engine as "
			    "configured cannot start: %s (see the log)\n",
			    ch_stt_kind_str((enum ch_stt_kind)k),
			    strerror(err));
			return 2;
		}
		if (err)
			ch_log_warn("main",
			            "speech-to-text engine %s is off: %s",
			            ch_stt_kind_str((enum ch_stt_kind)k),
			            strerror(err));
	}
	int err =
	    ch_transcriber_alloc(&d->transcriber, d->stt, cfg->stt_decoders,
	                         transcript_h, transcribe_done_h, d);
	if (err) {
		ch_log_fatal("chorusd: cannot start the transcriber: %s\n",
		             strerror(err));
		return 1;
	}
	ch_core_set_transcriber(d->core, d->transcriber, cfg->stt_engine);
	return 0;
}

/* Recordings that were running when chorusd last stopped without
 * finishing them (a crash): their files are assembled from the parts on
 * disk, and they are stopped. */
struct recover_ctx {
	struct ch_recording *recs;
	size_t n, cap;
};

static int recover_h(const struct ch_recording *r, void *arg)
{
	struct recover_ctx *x = arg;
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 8;
		struct ch_recording *a = realloc(x->recs, cap * sizeof(*a));
		if (!a)
			return 1;
		x->recs = a;
		x->cap = cap;
	}
	x->recs[x->n] = *r;
	x->recs[x->n].channels = NULL;
	x->n++;
	return 0;
}

static void recover_recordings(struct daemon *d)
{
	struct recover_ctx x = {0};
	if (d->st->ops->recording_list_active(d->st, recover_h, &x))
		ch_log_error("main", "cannot list recordings to recover");
	for (size_t i = 0; i < x.n; i++) {
		struct ch_recorder_result r;
		struct ch_core_rec_result res = {.channels = "[]"};
		enum ch_rec_format f = CH_REC_WAV;
		(void)ch_rec_format_parse(x.recs[i].format, &f);
		int err = ch_recorder_recover(d->rec_dir, x.recs[i].id, f, &r);
		if (!err) {
			res.duration_ms = r.duration_ms;
			res.rate = r.rate;
			res.channels = r.channels;
			res.size = r.size;
		} else {
			res.err = err;
		}
		ch_log_info("main", "recording %s recovered after a stop: %s",
		            x.recs[i].id,
		            err ? strerror(err) : "file complete");
		ch_core_recording_done(d->core, x.recs[i].id, &res);
	}
	free(x.recs);
}

static void daemon_close(struct daemon *d)
{
	g_sip = NULL;
	ch_api_free(d->api);
	ch_cluster_free(d->cluster);
	ch_sip_free(d->sip);
	d->sip = NULL;
	ch_player_free(d->player);
	/* after the engine: its workers write into the recorder's taps */
	ch_media_engine_free(d->eng);
	ch_recorder_free(d->recorder);
	ch_transcriber_free(d->transcriber);
	ch_stt_engine_close(d->stt[CH_STT_SPHINX]);
	ch_stt_engine_close(d->stt[CH_STT_HTTP]);
	ch_core_free(d->core);
	ch_events_free(d->ev);
	ch_store_close(d->st);
}

/* A dial-in to another node's conference goes there (sip.h). */
static int sip_owner_h(void *arg, const char *conference_id, char *uri,
                       size_t size)
{
	struct daemon *d = arg;
	return ch_cluster_owner_sip(d->cluster, conference_id, uri, size);
}

/* --nats: this node joins the cluster on the shared store. Returns 0 or
 * the exit code (said). */
static int join_cluster(struct daemon *d, const struct ch_config *cfg,
                        const struct sa *sip_bound)
{
	struct sa api_bound;
	char api_url[128], sip_uri[128], ip[64];
	if (!ch_store_url_is_pg(cfg->store)) {
		ch_log_fatal("chorusd: --nats needs a store the nodes share "
		             "(--store postgres://...)\n");
		return 2;
	}
	(void)ch_api_local(d->api, &api_bound);
	re_snprintf(api_url, sizeof(api_url), "http://%J", &api_bound);
	if (cfg->public_ip[0])
		snprintf(ip, sizeof(ip), "%s", cfg->public_ip);
	else
		re_snprintf(ip, sizeof(ip), "%j", sip_bound);
	re_snprintf(sip_uri, sizeof(sip_uri), "sip:%s:%u", ip,
	            sa_port(sip_bound));
	struct ch_cluster_config ccfg = {
	    .nats_url = cfg->nats,
	    .api_url = api_url,
	    .sip_uri = sip_uri,
	};
	int err = ch_cluster_alloc(&d->cluster, d->core, d->ev, &ccfg);
	if (err) {
		ch_log_fatal("chorusd: cannot join the cluster on %s: %s\n",
		             cfg->nats, strerror(err));
		return 2;
	}
	ch_api_set_cluster(d->api, d->cluster);
	ch_sip_owner_set(d->sip, sip_owner_h, d);
	return 0;
}

static int run(const struct ch_config *cfg, bool init)
{
	struct daemon d;
	struct ch_customer cust;
	struct sa laddr, bound;
	char token[CH_TOKEN_LEN];
	int err, code = 1;

	memset(&d, 0, sizeof(d));
	err = ch_store_open(&d.st, cfg->store, cfg->data_dir,
	                    init ? CH_STORE_INIT : 0);
	if (err && ch_store_url_is_pg(cfg->store)) {
		ch_log_fatal("chorusd: cannot use the PostgreSQL store: %s\n",
		             ch_store_open_strerror(err));
		return 2;
	}
	if (err) {
		ch_log_fatal("chorusd: cannot use data dir %s: %s\n",
		             cfg->data_dir, ch_store_open_strerror(err));
		return 2;
	}
	if (ch_store_url_is_pg(cfg->store) &&
	    (mkdir(cfg->data_dir, 0750) && errno != EEXIST)) {
		ch_log_fatal("chorusd: cannot use data dir %s: %s\n",
		             cfg->data_dir, strerror(errno));
		ch_store_close(d.st);
		return 2;
	}
	err = default_customer(d.st, &cust, token);
	if (err)
		goto out;
	err = ch_events_alloc(&d.ev, d.st, cfg->webhook_timeout_ms);
	if (err)
		goto out;
	err = ch_core_alloc(&d.core, d.st, d.ev, cfg->node_name);
	if (err)
		goto out;
	ch_core_set_media_dir(d.core, cfg->media_dir);
	snprintf(d.rec_dir, sizeof(d.rec_dir), "%s/recordings", cfg->data_dir);
	char tts_dir[600];
	snprintf(tts_dir, sizeof(tts_dir), "%s/tts-cache", cfg->data_dir);
	err = ch_recorder_alloc(&d.recorder, d.rec_dir, recorder_done_h, &d);
	if (err) {
		ch_log_fatal("chorusd: cannot use %s for recordings: %s\n",
		             d.rec_dir, strerror(err));
		code = 2;
		goto out;
	}
	struct ch_player_config pcfg = {
	    .media_dir = cfg->media_dir,
	    .cache_dir = tts_dir,
	    .max_bytes = (size_t)cfg->play_max_mb << 20,
	    .total_timeout_ms = cfg->play_timeout_s * 1000,
	    .max_seconds = cfg->play_max_seconds,
	};
	err = ch_player_alloc(&d.player, &pcfg, player_done_h, &d);
	if (err) {
		ch_log_fatal("chorusd: cannot start the player: %s\n",
		             strerror(err));
		goto out;
	}
	recover_recordings(&d);
	code = stt_open(&d, cfg);
	if (code) {
		err = 0; /* said */
		goto out;
	}
	code = 1;
	ch_core_transcribe_recover(d.core);
	struct ch_codec_opus opus = {.complexity = cfg->opus_complexity,
	                             .lowdelay = !cfg->opus_voip};
	struct ch_media_config mcfg = {
	    .workers = cfg->media_workers,
	    .rtp_lo = cfg->rtp_lo,
	    .rtp_hi = cfg->rtp_hi,
	    .bind_ip = cfg->public_ip[0] ? cfg->public_ip : cfg->sip_host,
	    .rtp_timeout_ms = 10000,
	    .opus = &opus,
	};
	struct ch_media_handlers mh = {.talking = talking_h,
	                               .rtp_timeout = rtp_timeout_h,
	                               .rtp_resumed = rtp_resumed_h,
	                               .room_play_done = room_play_done_h,
	                               .leg_play_done = leg_play_done_h,
	                               .tap_detached = tap_detached_h,
	                               .dtls = dtls_h};
	err = ch_media_engine_alloc(&d.eng, &mcfg, &mh, &d);
	if (err) {
		ch_log_fatal("chorusd: cannot start the media engine: %s\n",
		             strerror(err));
		goto out;
	}
	struct sa sip_addr, sip_bound;
	if (sa_set_str(&sip_addr, cfg->sip_host, cfg->sip_port)) {
		ch_log_fatal("chorusd: bad sip address %s\n", cfg->sip_host);
		code = 2;
		goto out;
	}
	struct ch_sip_config scfg = {
	    .laddr = &sip_addr,
	    .public_ip = cfg->public_ip[0] ? cfg->public_ip : NULL,
	    .dial_timeout_s = cfg->dial_timeout_s,
	    .ack_timeout_s = cfg->sip_ack_timeout_s,
	    .unconfirmed_per_ip = cfg->sip_unconfirmed_per_ip,
	    .player = d.player,
	    .recorder = d.recorder,
	    .transcriber = d.transcriber,
	};
	err = ch_sip_alloc(&d.sip, d.core, d.eng, &scfg);
	if (err) {
		ch_log_fatal("chorusd: cannot listen for SIP on %s:%u: %s\n",
		             cfg->sip_host, cfg->sip_port,
		             err == EADDRINUSE ? "address already in use"
		                               : strerror(err));
		code = 2;
		goto out;
	}
	g_sip = d.sip;
	(void)ch_sip_local(d.sip, &sip_bound);
	if (sa_set_str(&laddr, cfg->http_host, cfg->http_port)) {
		ch_log_fatal("chorusd: bad http address %s\n", cfg->http_host);
		code = 2;
		goto out;
	}
	err = ch_api_alloc(&d.api, d.core, &laddr);
	if (err) {
		code =
		    listen_failed("HTTP", cfg->http_host, cfg->http_port, err);
		goto out;
	}
	struct ch_httpd_limits lim = {
	    .max_conns = cfg->http_max_conns,
	    .max_conns_per_ip = cfg->http_max_conns_per_ip,
	    .head_timeout_ms = cfg->http_head_timeout_s * 1000,
	    .idle_timeout_ms = cfg->http_idle_timeout_s * 1000,
	};
	ch_api_limits_set(d.api, &lim);
	ch_api_recordings_dir_set(d.api, d.rec_dir);
	ch_api_metrics_sources(d.api, d.eng, d.transcriber);
	if (cfg->metrics_host[0]) {
		struct sa maddr, mbound;
		err = sa_set_str(&maddr, cfg->metrics_host, cfg->metrics_port)
		          ? EINVAL
		          : ch_api_metrics_listen(d.api, &maddr);
		if (err) {
			code = listen_failed("metrics", cfg->metrics_host,
			                     cfg->metrics_port, err);
			goto out;
		}
		char murl[96];
		(void)ch_api_metrics_local(d.api, &mbound);
		re_snprintf(murl, sizeof(murl), "http://%J/metrics", &mbound);
		ch_log_info("main", "serving metrics on %s", murl);
	}
	err = ch_core_start(d.core);
	if (err)
		goto out;
	if (cfg->nats[0]) {
		code = join_cluster(&d, cfg, &sip_bound);
		if (code) {
			err = 0; /* said */
			goto out;
		}
		code = 1;
	}
	int perr = ch_core_loop_probe_start(d.core);
	if (perr)
		ch_log_warn("main", "control loop probe not started: %s",
		            strerror(perr));
	ch_events_retention_set(d.ev, cfg->events_retention_s);
	ch_events_start(d.ev);

	(void)ch_api_local(d.api, &bound);
	char url[128];
	re_snprintf(url, sizeof(url), "http://%J/v1.0", &bound);
	char sipstr[80];
	re_snprintf(sipstr, sizeof(sipstr), "%J", &sip_bound);
	banner(url, sipstr, &cust, token, cfg->data_dir,
	       ch_store_url_is_pg(cfg->store));
	ch_log_info("main", "serving API on %s, data in %s", url,
	            cfg->data_dir);

	err = re_main(signal_h);
	ch_log_info("main", "stopped");
	code = 0;
out:
	if (err && code == 1)
		ch_log_fatal("chorusd: start-up failed: %s\n", strerror(err));
	daemon_close(&d);
	return code;
}

/* Descriptors: the soft limit goes up to the hard one, and libre's table
 * of the control loop to match (it holds 1,024 unless told, and refuses
 * any descriptor numbered past it, whoever opened the lower ones: media
 * sockets live on the workers' own epoll but still take numbers). Capped
 * at FD_TABLE_MAX (the table costs about 40 bytes per slot). Must run
 * before the first fd_listen. */
#define FD_TABLE_MAX 65536

static void fd_limit_raise(void)
{
	struct rlimit rl;
	rlim_t want;
	if (getrlimit(RLIMIT_NOFILE, &rl)) {
		ch_log_warn("main", "getrlimit: %s", strerror(errno));
		return;
	}
	want = rl.rlim_max == RLIM_INFINITY ? FD_TABLE_MAX : rl.rlim_max;
	if (want > rl.rlim_cur) {
		rlim_t was = rl.rlim_cur;
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			ch_log_warn("main",
			            "cannot raise descriptors to %llu: %s",
			            (unsigned long long)want, strerror(errno));
		else
			ch_log_debug("main", "descriptors: %llu -> %llu",
			             (unsigned long long)was,
			             (unsigned long long)want);
	}
	(void)getrlimit(RLIMIT_NOFILE, &rl);
	want = rl.rlim_cur > FD_TABLE_MAX ? FD_TABLE_MAX : rl.rlim_cur;
	if (fd_setsize((int)want))
		ch_log_warn("main", "cannot size the descriptor table");
	if (want < 8192)
		ch_log_warn("main",
		            "only %llu descriptors (ulimit -n); HTTP "
		            "connections and call legs share them",
		            (unsigned long long)want);
}

int ch_chorusd_serve(int argc, char **argv)
{
	struct ch_config cfg;
	bool init = false;
	int code;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		}
	}
	ch_config_defaults(&cfg);
	code = parse_args(argc, argv, &cfg, &init);
	if (code)
		return code;
	ch_log_set_level(cfg.log_level);
	signal(SIGPIPE, SIG_IGN);
	if (libre_init()) {
		ch_log_fatal("chorusd: libre init failed\n");
		return 1;
	}
	dbg_init(DBG_WARNING, DBG_NONE);
	dbg_handler_set(libre_log_h, NULL);
	fd_limit_raise();
	code = run(&cfg, init);
	libre_close();
	return code;
}

/*
 * config.h: chorusd settings from built-in defaults, a config file and
 * command-line flags (flags win over the file, the file over defaults).
 *
 * Config file: one "key = value" per line, '#' starts a comment; keys are
 * the long flag names without "--": data-dir, store, nats, http, sip, rtp-ports,
 * public-ip, log-level, node-name, webhook-timeout-ms, media-workers,
 * opus-complexity, opus-application,
 * dial-timeout, sip-ack-timeout, sip-unconfirmed-per-ip, http-max-conns,
 * http-max-conns-per-ip, http-head-timeout, http-idle-timeout,
 * events-retention, media-dir, play-max-mb, play-timeout,
 * play-max-seconds, metrics.
 *
 * Not thread-safe; filled once at start on the main thread, read-only
 * after.
 */
#ifndef CH_CONFIG_H
#define CH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/log.h"

struct ch_config {
	char data_dir[512];
	/* the store: "" (SQLite in data_dir, the default) or a postgres://
	 * URI (store/store.h ch_store_open) */
	char store[512];
	/* the NATS server of a cluster (cluster/cluster.h), "" none */
	char nats[256];
	char http_host[64];
	uint16_t http_port;
	/* metrics: a listener of GET /metrics without a token; "" none
	 * (the default; "none" in a file or flag sets that) */
	char metrics_host[64];
	uint16_t metrics_port;
	char sip_host[64];
	uint16_t sip_port;
	uint16_t rtp_lo, rtp_hi;
	char public_ip[64];
	enum ch_log_level log_level;
	char node_name[64];
	unsigned webhook_timeout_ms;
	unsigned media_workers; /* 0: one per core */
	/* the media engine's Opus encoders: 0..10, and CELT-only low delay
	 * ("lowdelay", the default) or "voip" (SILK/hybrid, in-band FEC) */
	int opus_complexity;
	bool opus_voip;
	unsigned dial_timeout_s; /* dial-out ring time */
	/* SIP dial-in: how long an answered call waits for its ACK before
	 * its ports are released, and how many such un-ACKed calls one source
	 * address may hold (past it: 503 with Retry-After) */
	unsigned sip_ack_timeout_s;
	unsigned sip_unconfirmed_per_ip;
	/* HTTP connection limits (api/httpd.h) and outbox retention */
	unsigned http_max_conns;
	unsigned http_max_conns_per_ip;
	unsigned http_head_timeout_s;
	unsigned http_idle_timeout_s;
	uint64_t events_retention_s; /* delivered events kept this long */
	/* playback: the only folder file:// URLs may name ("": none), and
	 * the fetch limits of one URL */
	char media_dir[512];
	unsigned play_max_mb;      /* bytes fetched, MiB */
	unsigned play_timeout_s;   /* connect + transfer of one URL */
	unsigned play_max_seconds; /* longest clip decoded */
	/* transcription (services/stt.h): the engine of a request naming
	 * none, the pocketsphinx files ("": Debian's), the HTTP service */
	char stt_engine[16]; /* sphinx|http */
	char stt_sphinx_model[512];
	char stt_sphinx_lm[512];
	char stt_sphinx_dict[512];
	char stt_http_url[512]; /* "": the http engine is off */
	char stt_http_model[128];
	char stt_http_key[256];
	unsigned stt_http_timeout_ms;
	unsigned stt_http_retries;
	unsigned stt_decoders; /* decoder threads */
	bool stt_sphinx_fast;  /* stt-sphinx-search fast (default) | full */
};

/* Fills the built-in defaults. */
void ch_config_defaults(struct ch_config *cfg);
/* Applies one setting by key. On error returns -1 and writes a one-line
 * reason to err (size errlen). */
int ch_config_set(struct ch_config *cfg, const char *key, const char *value,
                  char *err, size_t errlen);
/* Reads a config file, applying every line. On error returns -1 with
 * "FILE:LINE: reason" in err. */
int ch_config_load(struct ch_config *cfg, const char *path, char *err,
                   size_t errlen);

#endif

/*
 * config.c: chorusd settings: defaults, config file, flags.
 */
#include "util/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ch_config_defaults(struct ch_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->data_dir, sizeof(cfg->data_dir), "./data");
	snprintf(cfg->http_host, sizeof(cfg->http_host), "127.0.0.1");
	cfg->http_port = 8080;
	snprintf(cfg->sip_host, sizeof(cfg->sip_host), "127.0.0.1");
	cfg->sip_port = 5060;
	cfg->rtp_lo = 20000;
	cfg->rtp_hi = 29999;
	cfg->log_level = CH_LOG_INFO;
	snprintf(cfg->node_name, sizeof(cfg->node_name), "local");
	cfg->webhook_timeout_ms = 10000;
	cfg->media_workers = 0;
	cfg->opus_complexity = 5; /* CH_CODEC_OPUS_COMPLEXITY */
	cfg->opus_voip = false;
	cfg->dial_timeout_s = 30;
	cfg->sip_ack_timeout_s = 10;
	cfg->sip_unconfirmed_per_ip = 20;
	cfg->http_max_conns = 4096;
	cfg->http_max_conns_per_ip = 3072;
	cfg->http_head_timeout_s = 10;
	cfg->http_idle_timeout_s = 60;
	cfg->events_retention_s = 7 * 86400;
	cfg->media_dir[0] = '\0';
	cfg->play_max_mb = 50;
	cfg->play_timeout_s = 30;
	cfg->play_max_seconds = 600;
	snprintf(cfg->stt_engine, sizeof(cfg->stt_engine), "sphinx");
	cfg->stt_sphinx_model[0] = cfg->stt_sphinx_lm[0] = '\0';
	cfg->stt_sphinx_dict[0] = cfg->stt_http_url[0] = '\0';
	snprintf(cfg->stt_http_model, sizeof(cfg->stt_http_model), "whisper-1");
	cfg->stt_http_key[0] = '\0';
	cfg->stt_http_timeout_ms = 15000;
	cfg->stt_http_retries = 2;
	cfg->stt_decoders = 2;
	cfg->stt_sphinx_fast = true;
}

/* A string setting into dst (size n): -1 with err if it does not fit, or
 * (abs) it is not an absolute path, or (url) not http(s)://. */
static int set_str(char *dst, size_t n, const char *key, const char *value,
                   bool abs, bool url, char *err, size_t errlen)
{
	bool bad = strlen(value) >= n || (abs && *value && *value != '/') ||
	           (url && *value && strncmp(value, "http://", 7) &&
	            strncmp(value, "https://", 8));
	for (const char *p = value; !bad && *p; p++)
		bad = (unsigned char)*p < 0x20 || *p == 0x7f;
	if (bad) {
		snprintf(err, errlen, "%s: %s of at most %zu bytes", key,
		         abs   ? "an absolute path"
		         : url ? "an http:// or https:// URL"
		               : "printable text",
		         n - 1);
		return -1;
	}
	snprintf(dst, n, "%s", value);
	return 0;
}

static int parse_u(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	if (!s || !*s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *end || *out > max)
		return -1;
	return 0;
}

/* "N" seconds, or N with a unit: s, m, h or d; 1 s to 10 years. */
static int parse_duration(const char *s, uint64_t *secs)
{
	static const struct {
		char unit;
		unsigned long mult;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
	char num[24];
	size_t n = strlen(s);
	unsigned long mult = 1, v;
	if (n && n < sizeof(num) && isalpha((unsigned char)s[n - 1])) {
		mult = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(*units); i++)
			if (s[n - 1] == units[i].unit)
				mult = units[i].mult;
		n--;
	}
	if (!mult || n >= sizeof(num))
		return -1;
	memcpy(num, s, n);
	num[n] = '\0';
	if (parse_u(num, 3650UL * 86400, &v) || !v || v > 3650UL * 86400 / mult)
		return -1;
	*secs = (uint64_t)v * mult;
	return 0;
}

/* A count or a number of seconds in lo..hi into *out. */
static int set_uint(unsigned *out, const char *key, const char *value,
                    unsigned long lo, unsigned long hi, const char *unit,
                    char *err, size_t errlen)
{
	unsigned long a;
	if (parse_u(value, hi, &a) || a < lo) {
		snprintf(err, errlen, "%s: %lu to %lu%s", key, lo, hi, unit);
		return -1;
	}
	*out = (unsigned)a;
	return 0;
}

static bool valid_ip(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 ||
	       inet_pton(AF_INET6, s, buf) == 1;
}

/* "HOST:PORT" (or "[v6]:PORT") into host and port. */
static int parse_hostport(const char *v, char *host, size_t hostlen,
                          uint16_t *port)
{
	const char *colon = strrchr(v, ':');
	unsigned long p;
	char h[64];
	size_t n;
	if (!colon)
		return -1;
	n = (size_t)(colon - v);
	if (n >= sizeof(h) || n == 0)
		return -1;
	memcpy(h, v, n);
	h[n] = '\0';
	if (h[0] == '[' && h[n - 1] == ']') {
		memmove(h, h + 1, n - 2);
		h[n - 2] = '\0';
	}
	if (!valid_ip(h) || parse_u(colon + 1, 65535, &p))
		return -1;
	snprintf(host, hostlen, "%s", h);
	*port = (uint16_t)p;
	return 0;
}

int ch_config_set(struct ch_config *cfg, const char *key, const char *value,
                  char *err, size_t errlen)
{
	unsigned long a, b;
	if (!value) {
		snprintf(err, errlen, "%s needs a value", key);
		return -1;
	}
	if (!strcmp(key, "store")) {
		if (strlen(value) >= sizeof(cfg->store) ||
		    (*value && strcmp(value, "sqlite") &&
		     strncmp(value, "postgres://", 11) &&
		     strncmp(value, "postgresql://", 13))) {
			snprintf(err, errlen,
			         "store: sqlite or a postgres:// URI");
			return -1;
		}
		snprintf(cfg->store, sizeof(cfg->store), "%s", value);
	} else if (!strcmp(key, "nats")) {
		if (strlen(value) >= sizeof(cfg->nats) ||
		    (*value && strncmp(value, "nats://", 7))) {
			snprintf(err, errlen, "nats: a nats://host:port URL");
			return -1;
		}
		snprintf(cfg->nats, sizeof(cfg->nats), "%s", value);
	} else if (!strcmp(key, "data-dir")) {
		if (!*value || strlen(value) >= sizeof(cfg->data_dir)) {
			snprintf(err, errlen, "data-dir: invalid path");
			return -1;
		}
		snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", value);
	} else if (!strcmp(key, "http")) {
		if (parse_hostport(value, cfg->http_host,
		                   sizeof(cfg->http_host), &cfg->http_port)) {
			snprintf(err, errlen,
			         "http: expected IP:PORT, got \"%s\"", value);
			return -1;
		}
	} else if (!strcmp(key, "metrics")) {
		if (!*value || !strcmp(value, "none")) {
			cfg->metrics_host[0] = '\0';
			cfg->metrics_port = 0;
		} else if (parse_hostport(value, cfg->metrics_host,
		                          sizeof(cfg->metrics_host),
		                          &cfg->metrics_port)) {
			cfg->metrics_host[0] = '\0';
			snprintf(
			    err, errlen,
			    "metrics: expected IP:PORT or none, got \"%s\"",
			    value);
			return -1;
		}
	} else if (!strcmp(key, "sip")) {
		if (parse_hostport(value, cfg->sip_host, sizeof(cfg->sip_host),
		                   &cfg->sip_port)) {
			snprintf(err, errlen,
			         "sip: expected IP:PORT, got \"%s\"", value);
			return -1;
		}
	} else if (!strcmp(key, "rtp-ports")) {
		char lo[16];
		const char *dash = strchr(value, '-');
		size_t n = dash ? (size_t)(dash - value) : 0;
		if (!dash || n >= sizeof(lo)) {
			snprintf(err, errlen, "rtp-ports: expected LO-HI");
			return -1;
		}
		memcpy(lo, value, n);
		lo[n] = '\0';
		if (parse_u(lo, 65535, &a) || parse_u(dash + 1, 65535, &b) ||
		    a < 1024 || b < a + 1) {
			snprintf(err, errlen,
			         "rtp-ports: expected LO-HI with 1024 <= LO < "
			         "HI <= 65535, got \"%s\"",
			         value);
			return -1;
		}
		cfg->rtp_lo = (uint16_t)a;
		cfg->rtp_hi = (uint16_t)b;
	} else if (!strcmp(key, "public-ip")) {
		if (!valid_ip(value)) {
			snprintf(err, errlen,
			         "public-ip: \"%s\" is not an IP address",
			         value);
			return -1;
		}
		snprintf(cfg->public_ip, sizeof(cfg->public_ip), "%s", value);
	} else if (!strcmp(key, "log-level")) {
		if (ch_log_level_parse(value, &cfg->log_level)) {
			snprintf(err, errlen,
			         "log-level: expected debug, info, warn or "
			         "error, got \"%s\"",
			         value);
			return -1;
		}
	} else if (!strcmp(key, "node-name")) {
		/* a NATS subject token and a store key: no dots, spaces or
		 * wildcards */
		if (!*value || strlen(value) >= sizeof(cfg->node_name) ||
		    strspn(value, "abcdefghijklmnopqrstuvwxyz"
		                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
		        strlen(value)) {
			snprintf(err, errlen,
			         "node-name: 1 to 63 letters, digits, '_' or "
			         "'-'");
			return -1;
		}
		snprintf(cfg->node_name, sizeof(cfg->node_name), "%s", value);
	} else if (!strcmp(key, "webhook-timeout-ms")) {
		if (parse_u(value, 600000, &a) || a < 100) {
			snprintf(err, errlen,
			         "webhook-timeout-ms: 100 to 600000");
			return -1;
		}
		cfg->webhook_timeout_ms = (unsigned)a;
	} else if (!strcmp(key, "media-workers")) {
		if (parse_u(value, 64, &a)) {
			snprintf(err, errlen,
			         "media-workers: 0 (one per core) "
			         "to 64");
			return -1;
		}
		cfg->media_workers = (unsigned)a;
	} else if (!strcmp(key, "opus-complexity")) {
		if (parse_u(value, 10, &a)) {
			snprintf(err, errlen, "opus-complexity: 0 to 10");
			return -1;
		}
		cfg->opus_complexity = (int)a;
	} else if (!strcmp(key, "opus-application")) {
		if (strcmp(value, "lowdelay") && strcmp(value, "voip")) {
			snprintf(err, errlen,
			         "opus-application: lowdelay or voip");
			return -1;
		}
		cfg->opus_voip = !strcmp(value, "voip");
	} else if (!strcmp(key, "dial-timeout")) {
		if (parse_u(value, 600, &a) || a < 1) {
			snprintf(err, errlen, "dial-timeout: 1 to 600 seconds");
			return -1;
		}
		cfg->dial_timeout_s = (unsigned)a;
	} else if (!strcmp(key, "sip-ack-timeout")) {
		/* at most SIP timer H (64*T1), after which libre gives up */
		return set_uint(&cfg->sip_ack_timeout_s, key, value, 1, 32,
		                " seconds", err, errlen);
	} else if (!strcmp(key, "sip-unconfirmed-per-ip")) {
		return set_uint(&cfg->sip_unconfirmed_per_ip, key, value, 1,
		                100000, " calls", err, errlen);
	} else if (!strcmp(key, "http-max-conns")) {
		return set_uint(&cfg->http_max_conns, key, value, 1, 1000000,
		                "", err, errlen);
	} else if (!strcmp(key, "http-max-conns-per-ip")) {
		return set_uint(&cfg->http_max_conns_per_ip, key, value, 1,
		                1000000, "", err, errlen);
	} else if (!strcmp(key, "http-head-timeout")) {
		return set_uint(&cfg->http_head_timeout_s, key, value, 1, 3600,
		                " seconds", err, errlen);
	} else if (!strcmp(key, "http-idle-timeout")) {
		return set_uint(&cfg->http_idle_timeout_s, key, value, 1, 86400,
		                " seconds", err, errlen);
	} else if (!strcmp(key, "events-retention")) {
		if (parse_duration(value, &cfg->events_retention_s)) {
			snprintf(err, errlen,
			         "events-retention: seconds, or a number with "
			         "s, m, h or d (e.g. 7d), 1 s to 3650 d; got "
			         "\"%s\"",
			         value);
			return -1;
		}
	} else if (!strcmp(key, "media-dir")) {
		if (strlen(value) >= sizeof(cfg->media_dir) ||
		    (*value && *value != '/')) {
			snprintf(
			    err, errlen,
			    "media-dir: an absolute path (or empty: none)");
			return -1;
		}
		snprintf(cfg->media_dir, sizeof(cfg->media_dir), "%s", value);
	} else if (!strcmp(key, "play-max-mb")) {
		return set_uint(&cfg->play_max_mb, key, value, 1, 4096, " MiB",
		                err, errlen);
	} else if (!strcmp(key, "play-timeout")) {
		return set_uint(&cfg->play_timeout_s, key, value, 1, 3600,
		                " seconds", err, errlen);
	} else if (!strcmp(key, "play-max-seconds")) {
		return set_uint(&cfg->play_max_seconds, key, value, 1, 86400,
		                " seconds", err, errlen);
	} else if (!strcmp(key, "stt-engine")) {
		if (strcmp(value, "sphinx") && strcmp(value, "http")) {
			snprintf(err, errlen,
			         "stt-engine: sphinx or http; got \"%.32s\"",
			         value);
			return -1;
		}
		snprintf(cfg->stt_engine, sizeof(cfg->stt_engine), "%s", value);
	} else if (!strcmp(key, "stt-sphinx-model")) {
		return set_str(cfg->stt_sphinx_model,
		               sizeof(cfg->stt_sphinx_model), key, value, true,
		               false, err, errlen);
	} else if (!strcmp(key, "stt-sphinx-lm")) {
		return set_str(cfg->stt_sphinx_lm, sizeof(cfg->stt_sphinx_lm),
		               key, value, true, false, err, errlen);
	} else if (!strcmp(key, "stt-sphinx-dict")) {
		return set_str(cfg->stt_sphinx_dict,
		               sizeof(cfg->stt_sphinx_dict), key, value, true,
		               false, err, errlen);
	} else if (!strcmp(key, "stt-http-url")) {
		return set_str(cfg->stt_http_url, sizeof(cfg->stt_http_url),
		               key, value, false, true, err, errlen);
	} else if (!strcmp(key, "stt-http-model")) {
		return set_str(cfg->stt_http_model, sizeof(cfg->stt_http_model),
		               key, value, false, false, err, errlen);
	} else if (!strcmp(key, "stt-http-key")) {
		return set_str(cfg->stt_http_key, sizeof(cfg->stt_http_key),
		               key, value, false, false, err, errlen);
	} else if (!strcmp(key, "stt-http-timeout-ms")) {
		return set_uint(&cfg->stt_http_timeout_ms, key, value, 100,
		                600000, " ms", err, errlen);
	} else if (!strcmp(key, "stt-http-retries")) {
		return set_uint(&cfg->stt_http_retries, key, value, 0, 10, "",
		                err, errlen);
	} else if (!strcmp(key, "stt-sphinx-search")) {
		if (strcmp(value, "fast") && strcmp(value, "full")) {
			snprintf(
			    err, errlen,
			    "stt-sphinx-search: fast or full; got \"%.32s\"",
			    value);
			return -1;
		}
		cfg->stt_sphinx_fast = !strcmp(value, "fast");
	} else if (!strcmp(key, "stt-decoders")) {
		return set_uint(&cfg->stt_decoders, key, value, 1, 64, "", err,
		                errlen);
	} else {
		snprintf(err, errlen, "unknown setting \"%s\"", key);
		return -1;
	}
	return 0;
}

static char *trim(char *s)
{
	char *e;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int ch_config_load(struct ch_config *cfg, const char *path, char *err,
                   size_t errlen)
{
	char *line = NULL, why[256];
	size_t cap = 0;
	FILE *f = fopen(path, "r");
	int lineno = 0, rc = 0;
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, f) >= 0) {
		char *hash = strchr(line, '#'), *eq, *k, *v;
		lineno++;
		if (hash)
			*hash = '\0';
		k = trim(line);
		if (!*k)
			continue;
		eq = strchr(k, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: expected key = value",
			         path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		if (ch_config_set(cfg, k, v, why, sizeof(why))) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			rc = -1;
			break;
		}
	}
	free(line);
	fclose(f);
	return rc;
}

/*
 * customer_cmd.c: `chorusd customer add|list|token`: manage the customers
 * (tenants) that own tokens, webhooks and resources.
 *
 * A token is printed once, when it is made (`add`, `token`); the store
 * keeps only its SHA-256 (util/token.h), so a lost token cannot be shown
 * again, only replaced. A running chorusd notices the change on its next
 * request (store data_version) and stops taking the old token at once.
 */
#include "api/api.h"
#include "main/chorusd.h"
#include "store/store.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/token.h"
#include "util/uuid.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: chorusd customer add NAME [--webhook-uri URL] "
	        "[--data-dir DIR] [--store URL]\n"
	        "       chorusd customer list [--data-dir DIR] [--store URL]\n"
	        "       chorusd customer token NAME|ID [--data-dir DIR] "
	        "[--store URL]\n"
	        "\n"
	        "--store   sqlite (default: DIR/chorus.db) or the "
	        "postgres:// URI chorusd\n"
	        "          serve uses\n"
	        "\n"
	        "add    creates a customer and prints one JSON line:\n"
	        "       {\"customer_id\": ..., \"token\": ..., "
	        "\"webhook_secret\": ...}\n"
	        "       Events are POSTed to URL, signed with "
	        "webhook_secret.\n"
	        "list   prints one JSON line per customer (tokens are "
	        "stored hashed:\n"
	        "       they cannot be shown again).\n"
	        "token  gives the customer a new token and prints "
	        "{\"customer_id\": ...,\n"
	        "       \"token\": ...}; the old token stops working at "
	        "once, also in a\n"
	        "       running chorusd.\n"
	        "\n"
	        "  --data-dir DIR     the data folder (default ./data)\n"
	        "  --webhook-uri URL  http:// or https:// URL for events\n");
}

int ch_chorusd_customer_new(struct ch_store *st, const char *name,
                            const char *webhook_uri, struct ch_customer *out,
                            char token[CH_TOKEN_LEN])
{
	struct ch_customer c;
	memset(&c, 0, sizeof(c));
	ch_uuid_new(c.id);
	snprintf(c.name, sizeof(c.name), "%s", name);
	ch_token_new(token);
	ch_token_hash(token, c.token_hash);
	ch_uuid_random_hex(c.webhook_secret, 32);
	snprintf(c.webhook_uri, sizeof(c.webhook_uri), "%s",
	         webhook_uri ? webhook_uri : "");
	c.tm_create = ch_time_now_us();
	int err = st->ops->customer_insert(st, &c);
	if (!err)
		*out = c;
	return err;
}

/* Prints o as one compact JSON line and releases it. */
static void print_json(json_t *o)
{
	char *t = json_dumps(o, JSON_COMPACT);
	printf("%s\n", t ? t : "{}");
	free(t);
	json_decref(o);
}

static int print_h(const struct ch_customer *c, void *arg)
{
	char ts[CH_TIME_LEN];
	(void)arg;
	ch_time_format(c->tm_create, ts);
	print_json(json_pack("{s:s,s:s,s:s,s:s,s:s}", "customer_id", c->id,
	                     "name", c->name, "webhook_uri", c->webhook_uri,
	                     "webhook_secret", c->webhook_secret, "tm_create",
	                     ts));
	return 0;
}

/* Customers named `name` (or whose id it is): how many, and the first. */
struct find_ctx {
	const char *key;
	struct ch_customer found;
	unsigned n;
};

static int find_h(const struct ch_customer *c, void *arg)
{
	struct find_ctx *k = arg;
	if (strcmp(c->name, k->key) && strcmp(c->id, k->key))
		return 0;
	if (!k->n++)
		k->found = *c;
	return 0;
}

/* `customer token NAME|ID`. Returns the exit code. */
static int new_token(struct ch_store *st, const char *key)
{
	struct find_ctx k = {.key = key};
	char token[CH_TOKEN_LEN], hash[CH_TOKEN_HASH_LEN];
	int err = st->ops->customer_list(st, find_h, &k);
	if (err)
		return 1;
	if (!k.n) {
		fprintf(stderr, "chorusd customer token: no customer \"%s\"\n",
		        key);
		return 2;
	}
	if (k.n > 1) {
		fprintf(stderr,
		        "chorusd customer token: %u customers are named "
		        "\"%s\": give the customer_id\n",
		        k.n, key);
		return 2;
	}
	ch_token_new(token);
	ch_token_hash(token, hash);
	err = st->ops->customer_set_token_hash(st, k.found.id, hash);
	if (err)
		return 1;
	/* a running chorusd may have read the store just before the commit
	 * and reads it again CH_API_TOKENS_RECHECK_MS later at the earliest:
	 * returning after that means no request made afterwards gets in with
	 * the old token */
	struct timespec ts = {0, 2 * CH_API_TOKENS_RECHECK_MS * 1000000L};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	print_json(
	    json_pack("{s:s,s:s}", "customer_id", k.found.id, "token", token));
	return 0;
}

static int add(struct ch_store *st, const char *name, const char *webhook)
{
	struct ch_customer c;
	char token[CH_TOKEN_LEN];
	if (ch_chorusd_customer_new(st, name, webhook, &c, token))
		return 1;
	print_json(json_pack("{s:s,s:s,s:s}", "customer_id", c.id, "token",
	                     token, "webhook_secret", c.webhook_secret));
	return 0;
}

/* Checks the arguments of `add`; returns 0 or the exit code. */
static int add_check(const char *name, const char *webhook)
{
	if (!name || !*name || strlen(name) > 255) {
		fprintf(stderr, "chorusd customer add: NAME (1-255 "
		                "bytes) is required\n");
		return 2;
	}
	if (webhook && strncmp(webhook, "http://", 7) &&
	    strncmp(webhook, "https://", 8)) {
		fprintf(stderr, "chorusd customer add: --webhook-uri "
		                "must start with http:// or https://\n");
		return 2;
	}
	if (webhook && strlen(webhook) > 1024) {
		fprintf(stderr, "chorusd customer add: --webhook-uri "
		                "is longer than 1024 bytes\n");
		return 2;
	}
	return 0;
}

int ch_chorusd_customer(int argc, char **argv)
{
	const char *data_dir = "./data", *webhook = NULL, *name = NULL;
	const char *store = "";
	const char *sub;
	struct ch_store *st;
	int code;

	if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
		usage(argc < 1 ? stderr : stdout);
		return argc < 1 ? 2 : 0;
	}
	sub = argv[0];
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--data-dir") && i + 1 < argc) {
			data_dir = argv[++i];
		} else if (!strcmp(argv[i], "--store") && i + 1 < argc) {
			store = argv[++i];
		} else if (!strcmp(argv[i], "--webhook-uri") && i + 1 < argc) {
			webhook = argv[++i];
		} else if (argv[i][0] != '-' && !name) {
			name = argv[i];
		} else {
			fprintf(stderr,
			        "chorusd customer: bad argument \"%s\" "
			        "(see --help)\n",
			        argv[i]);
			return 2;
		}
	}
	if (strcmp(sub, "add") && strcmp(sub, "list") && strcmp(sub, "token")) {
		fprintf(stderr,
		        "chorusd customer: unknown command \"%s\" (see "
		        "--help)\n",
		        sub);
		return 2;
	}
	if (!strcmp(sub, "add")) {
		code = add_check(name, webhook);
		if (code)
			return code;
	}
	if (!strcmp(sub, "token") && (!name || !*name)) {
		fprintf(stderr, "chorusd customer token: NAME or customer_id "
		                "is required\n");
		return 2;
	}
	ch_log_set_level(CH_LOG_WARN);
	code = ch_store_open(&st, store, data_dir, 0);
	if (code) {
		fprintf(stderr, "chorusd customer: cannot use %s %s: %s\n",
		        ch_store_url_is_pg(store) ? "the store" : "data dir",
		        ch_store_url_is_pg(store) ? "" : data_dir,
		        ch_store_open_strerror(code));
		return 2;
	}
	if (!strcmp(sub, "list"))
		code = st->ops->customer_list(st, print_h, NULL) ? 1 : 0;
	else if (!strcmp(sub, "token"))
		code = new_token(st, name);
	else
		code = add(st, name, webhook);
	ch_store_close(st);
	return code;
}

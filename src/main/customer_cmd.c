/*
 * customer_cmd.c: `chorusd customer add|list`: manage the customers
 * (tenants) that own tokens, webhooks and resources.
 */
#include "main/chorusd.h"
#include "store/store.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/uuid.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: chorusd customer add NAME [--webhook-uri URL] "
	        "[--data-dir DIR]\n"
	        "       chorusd customer list [--data-dir DIR]\n"
	        "\n"
	        "add   creates a customer and prints one JSON line:\n"
	        "      {\"customer_id\": ..., \"token\": ..., "
	        "\"webhook_secret\": ...}\n"
	        "      Events are POSTed to URL, signed with webhook_secret.\n"
	        "list  prints one JSON line per customer.\n"
	        "\n"
	        "  --data-dir DIR     the data folder (default ./data)\n"
	        "  --webhook-uri URL  http:// or https:// URL for events\n");
}

int ch_chorusd_customer_new(struct ch_store *st, const char *name,
                            const char *webhook_uri, struct ch_customer *out)
{
	struct ch_customer c;
	memset(&c, 0, sizeof(c));
	ch_uuid_new(c.id);
	snprintf(c.name, sizeof(c.name), "%s", name);
	ch_uuid_random_hex(c.token, 32);
	ch_uuid_random_hex(c.webhook_secret, 32);
	snprintf(c.webhook_uri, sizeof(c.webhook_uri), "%s",
	         webhook_uri ? webhook_uri : "");
	c.tm_create = ch_time_now_us();
	int err = st->ops->customer_insert(st, &c);
	if (!err)
		*out = c;
	return err;
}

static int print_h(const struct ch_customer *c, void *arg)
{
	char ts[CH_TIME_LEN];
	(void)arg;
	ch_time_format(c->tm_create, ts);
	json_t *o =
	    json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "customer_id", c->id, "name",
	              c->name, "token", c->token, "webhook_uri", c->webhook_uri,
	              "webhook_secret", c->webhook_secret, "tm_create", ts);
	char *t = json_dumps(o, JSON_COMPACT);
	printf("%s\n", t ? t : "{}");
	free(t);
	json_decref(o);
	return 0;
}

int ch_chorusd_customer(int argc, char **argv)
{
	const char *data_dir = "./data", *webhook = NULL, *name = NULL;
	const char *sub;
	struct ch_store *st;
	int err;

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
	if (strcmp(sub, "add") && strcmp(sub, "list")) {
		fprintf(stderr,
		        "chorusd customer: unknown command \"%s\" (see "
		        "--help)\n",
		        sub);
		return 2;
	}
	if (!strcmp(sub, "add")) {
		if (!name || !*name || strlen(name) > 255) {
			fprintf(stderr, "chorusd customer add: NAME (1-255 "
			                "bytes) is required\n");
			return 2;
		}
		if (webhook && strncmp(webhook, "http://", 7) &&
		    strncmp(webhook, "https://", 8)) {
			fprintf(stderr,
			        "chorusd customer add: --webhook-uri "
			        "must start with http:// or https://\n");
			return 2;
		}
		if (webhook && strlen(webhook) > 1024) {
			fprintf(stderr, "chorusd customer add: --webhook-uri "
			                "is longer than 1024 bytes\n");
			return 2;
		}
	}
	ch_log_set_level(CH_LOG_WARN);
	err = ch_store_open_sqlite(&st, data_dir);
	if (err) {
		fprintf(stderr,
		        "chorusd customer: cannot open the store in "
		        "%s\n",
		        data_dir);
		return 2;
	}
	if (!strcmp(sub, "list")) {
		err = st->ops->customer_list(st, print_h, NULL);
	} else {
		struct ch_customer c;
		err = ch_chorusd_customer_new(st, name, webhook, &c);
		if (!err) {
			json_t *o = json_pack(
			    "{s:s,s:s,s:s}", "customer_id", c.id, "token",
			    c.token, "webhook_secret", c.webhook_secret);
			char *t = json_dumps(o, JSON_COMPACT);
			printf("%s\n", t ? t : "{}");
			free(t);
			json_decref(o);
		}
	}
	ch_store_close(st);
	return err ? 1 : 0;
}

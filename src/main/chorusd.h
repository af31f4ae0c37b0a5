/*
 * chorusd.h: private to main/: the chorusd subcommands.
 */
#ifndef CH_CHORUSD_H
#define CH_CHORUSD_H

#include "store/records.h"

struct ch_store;

/* CH_VERSION comes from the build: project(VERSION) in CMakeLists.txt. */

/* `chorusd serve ...` (argv after "serve"); returns the exit code. */
int ch_chorusd_serve(int argc, char **argv);
/* `chorusd customer ...` (argv after "customer"); returns the exit code. */
int ch_chorusd_customer(int argc, char **argv);
/* Creates a customer with a new token (written into token, stored only
 * as its hash) and webhook secret. Returns 0 or the store's error. */
int ch_chorusd_customer_new(struct ch_store *st, const char *name,
                            const char *webhook_uri, struct ch_customer *out,
                            char token[CH_TOKEN_LEN]);

#endif

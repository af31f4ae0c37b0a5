/*
 * fuzz_json_params.c: libFuzzer target for the JSON request bodies of the
 * conference routes: the input, as it is, is the body of
 * POST /v1.0/conferences and then of PUT /v1.0/conferences/{id} on a live
 * conference of the process-wide API instance (api_instance.h). When a
 * PUT ended the target (a timeout already passed), a new one is made.
 * Seeds: tests/fuzz/corpus/json_params/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api_instance.h"

#define BEARER "Bearer " FZ_TOKEN

/* The conference the PUTs go to; made again when it is gone or over. */
static const char *target(struct fz *z)
{
	static char id[CH_UUID_LEN];
	struct ch_conference c;
	struct ch_conference_params p = {.has_type = true};

	if (ch_uuid_valid(id) &&
	    !ch_conference_get(z->core, z->cust_id, id, &c)) {
		bool live = c.status < CH_CONFERENCE_TERMINATING;
		ch_conference_clear(&c);
		if (live)
			return id;
	}
	fz_check(!ch_conference_create(z->core, z->cust_id, &p, &c),
	         "target conference");
	memcpy(id, c.id, CH_UUID_LEN);
	ch_conference_clear(&c);
	fz_run_timers();
	return id;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz *z = fz_get();
	char path[64 + CH_UUID_LEN];

	(void)fz_request(z, "POST", "/v1.0/conferences", NULL, BEARER,
	                 (const char *)data, size);
	snprintf(path, sizeof(path), "/v1.0/conferences/%s", target(z));
	(void)fz_request(z, "PUT", path, NULL, BEARER, (const char *)data,
	                 size);
	return 0;
}

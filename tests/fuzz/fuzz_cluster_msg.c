/*
 * fuzz_cluster_msg.c: libFuzzer target for what one chorusd node reads off
 * NATS from another (docs/cluster.md): the event frames of chorus.events
 * (ch_cluster_frame_parse), the forwarded API requests of chorus.api.<node>
 * (ch_api_cluster_run, through the process-wide API instance of
 * api_instance.h, token "fuzztoken") and their answers
 * (ch_api_cluster_answer_parse).
 *
 * The first byte picks the parser (0: frame, 1: answer, other: request);
 * the rest is the message. Checked beyond "no crash": a frame that parses
 * points inside the message at a '{'; the answer a node gives to any
 * request is itself an answer the other side accepts. Seeds:
 * tests/fuzz/corpus/cluster_msg/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api_instance.h" /* first: it includes re_types.h */

#include "cluster/cluster.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	const uint8_t kind = data[0];
	const char *msg = (const char *)data + 1;
	size_t len = size - 1;

	if (kind == 0) {
		struct ch_cluster_frame f;
		if (!ch_cluster_frame_parse(msg, len, &f))
			fz_check(f.json >= msg && f.json + f.len == msg + len &&
			             f.len && *f.json == '{' &&
			             ch_uuid_valid(f.customer_id),
			         "frame inside the message");
		return 0;
	}
	if (kind == 1) {
		struct ch_api_fwd_answer a;
		if (!ch_api_cluster_answer_parse(msg, len, &a)) {
			fz_check(a.status >= 100 && a.status <= 599 && a.hdrs &&
			             a.body,
			         "answer fields");
			json_decref(a.hold);
		}
		return 0;
	}
	struct fz *z = fz_get();
	char *answer = NULL;
	if (!ch_api_cluster_run(z->api, msg, len, &answer)) {
		struct ch_api_fwd_answer a;
		fz_check(answer && !ch_api_cluster_answer_parse(
		                       answer, strlen(answer), &a),
		         "a node's answer parses on the other side");
		json_decref(a.hold);
	}
	free(answer);
	fz_run_timers();
	return 0;
}

/*
 * fuzz_stun.c: libFuzzer target for the STUN checks of WebRTC legs
 * (media/stun.c): any bytes as a connectivity check and as a response.
 * A check that passes must be answerable, and its answer must pass the
 * response check with the same transaction id and give back the source.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <re_types.h>
#include <re_sa.h>

#include "media/stun.h"

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ch_stun_hmac *h;
	static const char pwd[] = "VOkJxbRl1RmTxUk/WvJxBt";
	struct ch_stun_req rq;
	struct sa src, got;
	uint8_t out[256];

	if (!h && ch_stun_hmac_alloc(&h))
		abort();
	(void)ch_stun_response_check(h, data, size, data, pwd, &got);
	if (ch_stun_check(h, data, size, "evtj", pwd, &rq) != 0)
		return 0;
	check(size >= 20 && size % 4 == 0);
	check(sa_set_str(&src, "192.0.2.7", 5000) == 0);
	size_t n = ch_stun_answer(h, &rq, &src, pwd, out, sizeof(out));
	check(n > 20);
	check(ch_stun_response_check(h, out, n, rq.tid, pwd, &got) == 0);
	check(sa_cmp(&got, &src, SA_ALL));
	return 0;
}

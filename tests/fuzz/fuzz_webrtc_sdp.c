/*
 * fuzz_webrtc_sdp.c: libFuzzer target for the WebRTC offer path
 * (webrtc/wsdp.c): any bytes as a browser's offer; an offer that passes
 * must be answerable, and its answer must parse as the start of an SDP
 * with the audio line the chosen codec names.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webrtc/wsdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ch_wsdp_offer o;
	const char *why = NULL;
	if (ch_wsdp_parse((const char *)data, size, &o, &why) != 0) {
		if (!why || !*why)
			abort();
		return 0;
	}
	static const struct ch_wsdp_local l = {
	    .ice_ufrag = "Chor",
	    .ice_pwd = "abcdefghijklmnopqrstuvwx",
	    .ip = "192.0.2.1",
	    .port = 40000,
	    .sess_id = 1,
	    .ssrc = 7,
	};
	static char out[4096];
	size_t n = ch_wsdp_answer(&o, &l, out, sizeof(out));
	if (n == 0)
		return 0; /* eight long m-lines can overflow 4 KiB: refused */
	if (n != strlen(out) || strncmp(out, "v=0\r\n", 5) != 0)
		abort();
	int pt;
	ch_wsdp_choose(&o, &pt);
	char m[64];
	snprintf(m, sizeof(m), "m=audio 40000 UDP/TLS/RTP/SAVPF %d", pt);
	if (pt < 0 || pt > 127 || !strstr(out, m))
		abort();
	return 0;
}

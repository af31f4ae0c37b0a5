/*
 * fuzz_rtcp.c: libFuzzer target for the RTCP compound parser. Whatever
 * parses must have its CNAME inside the input; an SR that parses is
 * rebuilt with ch_rtcp_build_sr() and must parse back to the same sender
 * information and report block.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/rtcp.h"

#define OUR_SSRC 0x11223344u

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ch_rtcp_info info, again;
	uint8_t buf[CH_RTCP_MAX_PACKET];

	if (ch_rtcp_parse(data, size, OUR_SSRC, &info) != 0)
		return 0;
	check(info.packets > 0 && size % 4 == 0);
	if (info.have_cname)
		check(info.cname >= data &&
		      info.cname + info.cname_len <= data + size);
	if (!info.have_sr)
		return 0;
	int len = ch_rtcp_build_sr(buf, sizeof(buf), &info.sr,
	                           info.have_block ? &info.block : NULL, "f");
	check(len > 0);
	check(ch_rtcp_parse(buf, (size_t)len, info.block.ssrc, &again) == 0);
	check(again.have_sr && again.sr.ssrc == info.sr.ssrc &&
	      again.sr.ntp == info.sr.ntp &&
	      again.sr.rtp_ts == info.sr.rtp_ts &&
	      again.sr.packets == info.sr.packets &&
	      again.sr.octets == info.sr.octets);
	if (info.have_block) {
		check(again.have_block);
		check(memcmp(&again.block, &info.block, sizeof(info.block)) ==
		      0);
	}
	return 0;
}

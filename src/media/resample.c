/*
 * resample.c: speexdsp resampler wrapper (see resample.h).
 */
#include "media/resample.h"

#include <errno.h>
#include <string.h>

#include <speex/speex_resampler.h>

static int rate_ok(uint32_t rate)
{
	switch (rate) {
	case 8000:
	case 12000:
	case 16000:
	case 24000:
	case 32000:
	case 48000:
		return 1;
	default:
		return 0;
	}
}

int ch_resample_init(struct ch_resample *rs, uint32_t in_rate,
                     uint32_t out_rate, int quality)
{
	int err = 0;

	memset(rs, 0, sizeof(*rs));
	if (quality == -1)
		quality = CH_RESAMPLE_QUALITY_DEFAULT;
	if (!rate_ok(in_rate) || !rate_ok(out_rate) ||
	    quality < SPEEX_RESAMPLER_QUALITY_MIN ||
	    quality > SPEEX_RESAMPLER_QUALITY_MAX)
		return -EINVAL;
	rs->in_rate = in_rate;
	rs->out_rate = out_rate;
	if (in_rate == out_rate)
		return 0;
	rs->st = speex_resampler_init(1, in_rate, out_rate, quality, &err);
	if (!rs->st || err != RESAMPLER_ERR_SUCCESS) {
		if (rs->st)
			speex_resampler_destroy(rs->st);
		memset(rs, 0, sizeof(*rs));
		return err == RESAMPLER_ERR_ALLOC_FAILED || err == 0 ? -ENOMEM
		                                                     : -EINVAL;
	}
	/*
	 * No speex_resampler_skip_zeros(): the leading zeros cost a few ms of
	 * delay but keep every call's output length exact (160 -> 960), which
	 * a fixed-tick mixer needs.
	 */
	return 0;
}

void ch_resample_destroy(struct ch_resample *rs)
{
	if (rs->st)
		speex_resampler_destroy(rs->st);
	memset(rs, 0, sizeof(*rs));
}

size_t ch_resample_out_len(const struct ch_resample *rs, size_t in_n)
{
	if (rs->in_rate == 0)
		return 0;
	return (size_t)(((uint64_t)in_n * rs->out_rate + rs->in_rate - 1) /
	                rs->in_rate);
}

int ch_resample_process(struct ch_resample *rs, const int16_t *in, size_t in_n,
                        int16_t *out, size_t out_cap, size_t *out_n)
{
	*out_n = 0;
	if (rs->in_rate == 0)
		return -EINVAL;
	if (out_cap < ch_resample_out_len(rs, in_n))
		return -ENOSPC;
	if (!rs->st) {
		memcpy(out, in, in_n * sizeof(in[0]));
		*out_n = in_n;
		return 0;
	}
	if (in_n > UINT32_MAX || out_cap > UINT32_MAX)
		return -EINVAL;
	spx_uint32_t ilen = (spx_uint32_t)in_n;
	spx_uint32_t olen = (spx_uint32_t)out_cap;
	int err = speex_resampler_process_int(rs->st, 0, in, &ilen, out, &olen);
	if (err != RESAMPLER_ERR_SUCCESS)
		return -EIO;
	*out_n = olen;
	return 0;
}

void ch_resample_reset(struct ch_resample *rs)
{
	if (!rs->st)
		return;
	speex_resampler_reset_mem(rs->st);
}

int ch_resample_latency(const struct ch_resample *rs)
{
	if (!rs->st)
		return 0;
	return speex_resampler_get_input_latency(rs->st);
}

/*
 * core_webrtc.c: the core's side of a browser joining (see core_webrtc.h):
 * the conference must be progressing; the media layer
 * (ch_core_media_ops.webrtc_offer) does the rest in one commit.
 */
#include "core/core_webrtc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/records.h"
#include "core/core_internal.h"

int ch_core_webrtc_offer(struct ch_core *core, const struct ch_conference *conf,
                         const char *sdp, size_t len, const char *caller,
                         struct ch_core_webrtc_answer *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	*why = NULL;
	int err;
	if (conf->status != CH_CONFERENCE_PROGRESSING)
		err = EBUSY;
	else if (!core->media || !core->media->webrtc_offer)
		err = ENOSYS;
	else
		err = core->media->webrtc_offer(core->media_arg, conf, sdp, len,
		                                caller, out, why);
	if (err)
		ch_core_webrtc_answer_clear(out);
	return err;
}

void ch_core_webrtc_answer_clear(struct ch_core_webrtc_answer *out)
{
	free(out->sdp);
	out->sdp = NULL;
}

/*
 * core_webrtc.h: a browser joins a conference (POST
 * /v1.0/conferences/{id}/webrtc): the core's checks before the media
 * layer answers the offer and creates the call and its participant.
 *
 * Threads: control thread (like all of the core).
 */
#ifndef CH_CORE_WEBRTC_H
#define CH_CORE_WEBRTC_H

#include <stddef.h>

#include "util/uuid.h"

struct ch_core;
struct ch_conference;

/* What the media layer answers: the SDP answer (malloc'd, owned by
 * whoever holds the struct: free with ch_core_webrtc_answer_clear) and the
 * ids of the call and participant it made. */
struct ch_core_webrtc_answer {
	char *sdp;
	char call_id[CH_UUID_LEN];
	char conferencecall_id[CH_UUID_LEN];
};

/* Answers a browser's offer (sdp, len: untrusted text) for conference conf
 * (read by the caller for its customer, borrowed), as caller (a display
 * name, checked by the API). 0 and out filled, or: EBUSY (not
 * progressing), EXFULL (max_participants reached), EPROTO (offer refused,
 * *why static text), ENOSYS (no media layer able to take WebRTC), ENOMEM,
 * EIO. */
int ch_core_webrtc_offer(struct ch_core *core, const struct ch_conference *conf,
                         const char *sdp, size_t len, const char *caller,
                         struct ch_core_webrtc_answer *out, const char **why);
/* Frees out->sdp. */
void ch_core_webrtc_answer_clear(struct ch_core_webrtc_answer *out);

#endif

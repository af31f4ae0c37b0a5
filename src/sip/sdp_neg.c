/*
 * sdp_neg.c: SDP offer/answer for audio legs on libre's sdp module: the
 * codecs Chorus takes (Opus 48 kHz, PCMU, PCMA, telephone-event), and the
 * choice of codec and direction from the remote description.
 *
 * The answerer's choice follows the offer's order (RFC 3264): the first
 * offered format we support wins; its payload type is used both ways.
 */
#include "sip/sip_int.h"

#include <string.h>
#include <strings.h>

int ch_sip_sdp_alloc(struct sdp_session **sessp, struct sdp_media **mp,
                     const struct sa *laddr)
{
	struct sdp_session *sess;
	struct sdp_media *m;
	int err = sdp_session_alloc(&sess, laddr);
	if (err)
		return err;
	err = sdp_media_add(&m, sess, "audio", sa_port(laddr), "RTP/AVP");
	if (!err)
		err = sdp_format_add(NULL, m, false, "111", "opus", 48000, 2,
		                     NULL, NULL, NULL, false,
		                     "minptime=10;useinbandfec=1");
	if (!err)
		err = sdp_format_add(NULL, m, false, "9", "G722", 8000, 1, NULL,
		                     NULL, NULL, false, NULL);
	if (!err)
		err = sdp_format_add(NULL, m, false, "0", "PCMU", 8000, 1, NULL,
		                     NULL, NULL, false, NULL);
	if (!err)
		err = sdp_format_add(NULL, m, false, "8", "PCMA", 8000, 1, NULL,
		                     NULL, NULL, false, NULL);
	if (!err)
		err = sdp_format_add(NULL, m, false, "101", "telephone-event",
		                     8000, 1, NULL, NULL, NULL, false, "0-15");
	if (!err)
		err = sdp_media_set_lattr(m, true, "ptime", "20");
	if (err) {
		mem_deref(sess);
		return err;
	}
	*sessp = sess;
	*mp = m;
	return 0;
}

static int codec_of(const char *name, enum ch_media_codec *c)
{
	if (!strcasecmp(name, "PCMU"))
		*c = CH_CODEC_PCMU;
	else if (!strcasecmp(name, "PCMA"))
		*c = CH_CODEC_PCMA;
	else if (!strcasecmp(name, "G722"))
		*c = CH_CODEC_G722;
	else if (!strcasecmp(name, "opus"))
		*c = CH_CODEC_OPUS;
	else
		return -1;
	return 0;
}

static enum ch_media_dir dir_of(enum sdp_dir remote)
{
	switch (remote) {
	case SDP_SENDRECV:
		return CH_DIR_SENDRECV;
	case SDP_RECVONLY:
		/* the far end only listens: the room sends, hears nothing */
		return CH_DIR_SENDONLY;
	case SDP_SENDONLY: /* on hold: not heard, and it hears nothing */
	case SDP_INACTIVE:
	default:
		return CH_DIR_INACTIVE;
	}
}

int ch_sip_sdp_choose(struct sdp_media *m, struct ch_media_leg_params *p,
                      struct sa *remote)
{
	const struct list *l = sdp_media_format_lst(m, false);
	const struct sdp_format *te;
	bool found = false;

	/* port 0: the stream is refused (RFC 3264) */
	if (!l || !sa_isset(sdp_media_raddr(m), SA_ADDR) || !sdp_media_rport(m))
		return ENOENT;
	memset(p, 0, sizeof(*p));
	for (struct le *le = l->head; le; le = le->next) {
		const struct sdp_format *f = le->data;
		const char *name = f->name;
		if (f->pt < 0 || f->pt > 127)
			continue;
		/* static payload types may come without a=rtpmap */
		if (!name && f->id && !strcmp(f->id, "0"))
			name = "PCMU";
		else if (!name && f->id && !strcmp(f->id, "8"))
			name = "PCMA";
		else if (!name && f->id && !strcmp(f->id, "9"))
			name = "G722";
		if (!name || codec_of(name, &p->codec))
			continue;
		if (!f->sup && f->name)
			continue;
		/* a static number must mean its own codec (RFC 3551) */
		if (f->pt < 96 && !((p->codec == CH_CODEC_PCMU && f->pt == 0) ||
		                    (p->codec == CH_CODEC_PCMA && f->pt == 8) ||
		                    (p->codec == CH_CODEC_G722 && f->pt == 9)))
			continue;
		if (p->codec == CH_CODEC_OPUS && f->srate != 48000)
			continue;
		p->pt = (uint8_t)f->pt;
		found = true;
		break;
	}
	if (!found)
		return ENOENT;
	te = sdp_media_rformat(m, "telephone-event");
	p->telev_pt = te ? te->pt : -1;
	p->dir = dir_of(sdp_media_rdir(m));
	*remote = *sdp_media_raddr(m);
	p->remote = remote;
	p->rtcp_mux = sdp_media_rattr(m, "rtcp-mux") != NULL;
	return 0;
}

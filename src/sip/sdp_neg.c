/*
 * sdp_neg.c: SDP offer/answer for audio legs on libre's sdp module: the
 * codecs Chorus takes (Opus 48 kHz, PCMU, PCMA, telephone-event), and the
 * choice of codec and direction from the remote description.
 *
 * The answerer's choice follows the offer's order (RFC 3264): the first
 * offered format we support wins; its payload type is used both ways.
 * An offered a=rtcp-mux (RFC 5761) is taken and answered.
 *
 * ch_sip_sdp_check() reads the raw text before libre does: libre keeps
 * the low 16 bits of an m= port and ignores a c= address it cannot parse,
 * and takes multicast and broadcast addresses, all of which would point a
 * leg's RTP at a place the peer did not name.
 */
#include "sip/sip_int.h"

#include <arpa/inet.h>
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
	/* answer what we run: RTCP on the RTP port only when both agree */
	if (p->rtcp_mux)
		return sdp_media_set_lattr(m, true, "rtcp-mux", NULL);
	sdp_media_del_lattr(m, "rtcp-mux");
	return 0;
}

/* "IN IP4 addr" / "IN IP6 addr": a unicast address of that family. */
static const char *check_conn(const struct pl *v)
{
	struct pl a;
	struct sa sa;
	int af;
	if (v->l < 8 ||
	    (strncmp(v->p, "IN IP4 ", 7) && strncmp(v->p, "IN IP6 ", 7)))
		return "c= is not IN IP4/IP6 ADDRESS";
	af = v->p[5] == '4' ? AF_INET : AF_INET6;
	a.p = v->p + 7;
	a.l = v->l - 7;
	while (a.l && (a.p[a.l - 1] == ' ' || a.p[a.l - 1] == '\t'))
		a.l--;
	if (sa_set(&sa, &a, 0) || sa_af(&sa) != af)
		return "c= address does not parse";
	if (af == AF_INET) {
		uint32_t ip = sa_in(&sa);
		if ((ip >> 28) == 0xe)
			return "c= address is multicast";
		if (ip == 0xffffffffu)
			return "c= address is broadcast";
	} else {
		uint8_t a6[16];
		sa_in6(&sa, a6);
		if (a6[0] == 0xff)
			return "c= address is multicast";
	}
	return NULL;
}

/* Decimal digits only, lo..65535. */
static bool port_ok(const struct pl *v, uint32_t lo)
{
	if (!v->l || v->l > 5)
		return false;
	for (size_t i = 0; i < v->l; i++)
		if (v->p[i] < '0' || v->p[i] > '9')
			return false;
	return pl_u32(v) >= lo && pl_u32(v) <= 65535;
}

/* "audio PORT PROTO FMT...": the port of an audio stream is 1-65535,
 * of another (declined with 0 or not) 0-65535; no port/count. */
static const char *check_media(const struct pl *v)
{
	struct pl port;
	const char *sp = pl_strchr(v, ' ');
	bool audio =
	    (size_t)(sp ? sp - v->p : 0) == 5 && !strncmp(v->p, "audio", 5);
	if (!sp)
		return "m= line does not parse";
	port.p = sp + 1;
	port.l = (size_t)(v->p + v->l - port.p);
	sp = pl_strchr(&port, ' ');
	if (!sp)
		return "m= line does not parse";
	port.l = (size_t)(sp - port.p);
	if (!port_ok(&port, audio ? 1 : 0))
		return "m= port is not 1-65535";
	return NULL;
}

int ch_sip_sdp_check(const struct mbuf *mb, const char **why)
{
	struct pl body, line;
	const char *bad = NULL;
	bool has_m = false;
	if (!mb || !mbuf_get_left(mb)) {
		bad = "no SDP";
		goto out;
	}
	body.p = (const char *)mbuf_buf(mb);
	body.l = mbuf_get_left(mb);
	if (body.l < 4 || strncmp(body.p, "v=0", 3)) {
		bad = "not SDP (v=0 does not come first)";
		goto out;
	}
	while (body.l && !bad) {
		/* lines end at CR or LF, either alone, as libre's sdp_decode
		 * splits them: a line it reads must be a line checked here */
		line.p = body.p;
		line.l = 0;
		while (line.l < body.l && line.p[line.l] != '\r' &&
		       line.p[line.l] != '\n')
			line.l++;
		size_t skip = line.l < body.l ? line.l + 1 : line.l;
		body.p += skip;
		body.l -= skip;
		if (line.l < 2 || line.p[1] != '=')
			continue;
		struct pl v = {line.p + 2, line.l - 2};
		if (line.p[0] == 'c')
			bad = check_conn(&v);
		else if (line.p[0] == 'm') {
			has_m = true;
			bad = check_media(&v);
		} else if (line.p[0] == 'a' && v.l >= 5 &&
		           !strncmp(v.p, "rtcp:", 5)) {
			struct pl port = {v.p + 5, 0};
			while (5 + port.l < v.l && port.p[port.l] != ' ')
				port.l++;
			if (!port_ok(&port, 1))
				bad = "a=rtcp port is not 1-65535";
		}
	}
	if (!bad && !has_m)
		bad = "no m= line";
out:
	if (why)
		*why = bad;
	return bad ? EPROTO : 0;
}

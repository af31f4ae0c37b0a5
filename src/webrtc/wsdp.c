/*
 * wsdp.c: a browser's SDP offer parsed and checked line by line, and
 * chorusd's ICE-lite, DTLS-passive, rtcp-mux, one-audio-m-line answer
 * written (see wsdp.h for the rules and limits).
 */
#include "webrtc/wsdp.h"

#include "util/uuid.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_FMTS 64

/* A line of the offer: a view into the caller's buffer. */
struct line {
	const char *p;
	size_t n;
};

/* What is gathered at one level (session or the taken audio m-line). */
struct level {
	struct line ufrag, pwd;
	bool have_ufrag, have_pwd;
	int fp; /* -1 none, 0 sha-256 parsed, 1 another hash only */
	uint8_t fingerprint[32];
	int setup; /* -1 none */
};

/* Parser state, on the stack of ch_wsdp_parse. */
struct parse {
	struct ch_wsdp_offer *o;
	struct level sess, audio;
	int cur;            /* -1 session, else m-line index */
	int taken;          /* index of the audio m-line taken, -1 */
	int fmts[MAX_FMTS]; /* the taken m-line's payload types */
	unsigned n_fmts;
	struct line bundle; /* a=group:BUNDLE's list */
	bool have_bundle, ice_lite;
	const char *why;
};

static bool starts(struct line l, const char *pfx)
{
	size_t n = strlen(pfx);
	return l.n >= n && memcmp(l.p, pfx, n) == 0;
}

static struct line after(struct line l, size_t k)
{
	return (struct line){l.p + k, l.n - k};
}

/* The next space-separated token of *l, which moves past it. */
static struct line token(struct line *l)
{
	size_t i = 0;
	while (i < l->n && l->p[i] == ' ')
		i++;
	size_t b = i;
	while (i < l->n && l->p[i] != ' ')
		i++;
	struct line t = {l->p + b, i - b};
	*l = after(*l, i);
	return t;
}

static bool eq(struct line l, const char *s)
{
	return l.n == strlen(s) && memcmp(l.p, s, l.n) == 0;
}

static bool eqi(struct line l, const char *s)
{
	return l.n == strlen(s) && strncasecmp(l.p, s, l.n) == 0;
}

/* A decimal number of at most 5 digits; -1 if not one. */
static long num(struct line l)
{
	if (l.n == 0 || l.n > 5)
		return -1;
	long v = 0;
	for (size_t i = 0; i < l.n; i++) {
		if (l.p[i] < '0' || l.p[i] > '9')
			return -1;
		v = v * 10 + (l.p[i] - '0');
	}
	return v;
}

static bool ice_chars(struct line l)
{
	for (size_t i = 0; i < l.n; i++) {
		char c = l.p[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '+' || c == '/';
		if (!ok)
			return false;
	}
	return true;
}

/* RFC 4566 token characters (a=mid, media), '/' too when slash (proto). */
static bool token_chars_of(struct line l, bool slash)
{
	static const char extra[] = "!#$%&'*+-.^_`{|}~";
	for (size_t i = 0; i < l.n; i++) {
		char c = l.p[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || (c && strchr(extra, c)) ||
		          (slash && c == '/');
		if (!ok)
			return false;
	}
	return true;
}

static bool token_chars(struct line l)
{
	return token_chars_of(l, false);
}

/* "sha-256 AB:CD:..." into lv; another hash marks lv->fp 1 unless a
 * sha-256 one was already seen. */
static bool fingerprint(struct parse *ps, struct level *lv, struct line v)
{
	struct line hash = token(&v);
	struct line hex = token(&v);
	if (!eqi(hash, "sha-256")) {
		if (lv->fp < 0)
			lv->fp = 1;
		return true;
	}
	if (hex.n != 32 * 3 - 1) {
		ps->why = "malformed sha-256 fingerprint";
		return false;
	}
	for (size_t i = 0; i < 32; i++) {
		int hi = ch_uuid_hexval(hex.p[i * 3]),
		    lo = ch_uuid_hexval(hex.p[i * 3 + 1]);
		if (hi < 0 || lo < 0 || (i < 31 && hex.p[i * 3 + 2] != ':')) {
			ps->why = "malformed sha-256 fingerprint";
			return false;
		}
		lv->fingerprint[i] = (uint8_t)(hi << 4 | lo);
	}
	lv->fp = 0;
	return true;
}

/* An attribute at session level or of the taken audio m-line. */
static bool level_attr(struct parse *ps, struct level *lv, struct line a)
{
	if (starts(a, "ice-ufrag:")) {
		lv->ufrag = after(a, 10);
		lv->have_ufrag = true;
	} else if (starts(a, "ice-pwd:")) {
		lv->pwd = after(a, 8);
		lv->have_pwd = true;
	} else if (starts(a, "fingerprint:")) {
		return fingerprint(ps, lv, after(a, 12));
	} else if (starts(a, "setup:")) {
		struct line v = after(a, 6);
		if (eq(v, "actpass"))
			lv->setup = CH_WSDP_ACTPASS;
		else if (eq(v, "active"))
			lv->setup = CH_WSDP_ACTIVE;
		else if (eq(v, "passive"))
			lv->setup = CH_WSDP_PASSIVE;
		else {
			ps->why = "unknown a=setup";
			return false;
		}
	}
	return true;
}

static bool in_fmts(const struct parse *ps, long pt)
{
	for (unsigned i = 0; i < ps->n_fmts; i++)
		if (ps->fmts[i] == pt)
			return true;
	return false;
}

/* a=rtpmap:<pt> <name>/<rate>[/<channels>] of the taken m-line. */
static void rtpmap(struct parse *ps, struct line v)
{
	struct ch_wsdp_offer *o = ps->o;
	struct line ptl = token(&v);
	struct line enc = token(&v);
	long pt = num(ptl);
	if (pt < 0 || pt > 127 || !in_fmts(ps, pt))
		return;
	if (eqi(enc, "opus/48000/2")) {
		if (o->opus_pt < 0)
			o->opus_pt = (int)pt;
	} else if (eqi(enc, "PCMU/8000") || eqi(enc, "PCMU/8000/1")) {
		if (o->pcmu_pt < 0)
			o->pcmu_pt = (int)pt;
	} else if (eqi(enc, "PCMA/8000") || eqi(enc, "PCMA/8000/1")) {
		if (o->pcma_pt < 0)
			o->pcma_pt = (int)pt;
	} else if (eqi(enc, "telephone-event/48000")) {
		if (o->telev48_pt < 0)
			o->telev48_pt = (int)pt;
	} else if (eqi(enc, "telephone-event/8000")) {
		if (o->telev8_pt < 0)
			o->telev8_pt = (int)pt;
	}
}

static void copy(char *dst, size_t cap, struct line l)
{
	size_t n = l.n < cap - 1 ? l.n : cap - 1;
	memcpy(dst, l.p, n);
	dst[n] = '\0';
}

/* m=<kind> <port> <proto> <fmt> ... */
static bool mline(struct parse *ps, struct line v)
{
	struct ch_wsdp_offer *o = ps->o;
	if (o->n_media >= CH_WSDP_MAX_MEDIA) {
		ps->why = "too many m-lines";
		return false;
	}
	unsigned i = o->n_media++;
	ps->cur = (int)i;
	struct line kind = token(&v), port = token(&v), proto = token(&v);
	struct line slash = port;
	for (size_t k = 0; k < port.n; k++)
		if (port.p[k] == '/') {
			slash.n = k; /* <port>/<count> */
			break;
		}
	long p = num(slash);
	if (kind.n == 0 || p < 0 || p > 65535 || proto.n == 0) {
		ps->why = "malformed m-line";
		return false;
	}
	if (!token_chars(kind) || !token_chars_of(proto, true)) {
		ps->why = "malformed m-line";
		return false;
	}
	copy(o->media_kind[i], sizeof(o->media_kind[i]), kind);
	copy(o->media_proto[i], sizeof(o->media_proto[i]), proto);
	struct line rest = v;
	struct line f0 = token(&rest);
	if (f0.n == 0 || !token_chars(f0)) {
		ps->why = "malformed m-line";
		return false;
	}
	copy(o->media_fmt[i], sizeof(o->media_fmt[i]), f0);
	bool ok_proto =
	    eq(proto, "UDP/TLS/RTP/SAVPF") || eq(proto, "UDP/TLS/RTP/SAVP");
	if (ps->taken >= 0 || !eq(kind, "audio") || p == 0 || !ok_proto)
		return true;
	ps->taken = (int)i;
	o->audio_idx = i;
	for (;;) {
		struct line f = token(&v);
		if (f.n == 0)
			break;
		long pt = num(f);
		if (pt < 0 || pt > 127) {
			ps->why = "payload type out of range";
			return false;
		}
		if (ps->n_fmts < MAX_FMTS)
			ps->fmts[ps->n_fmts++] = (int)pt;
	}
	return true;
}

static bool media_attr(struct parse *ps, struct line a)
{
	struct ch_wsdp_offer *o = ps->o;
	if (starts(a, "mid:")) {
		struct line m = after(a, 4);
		if (m.n == 0 || m.n > CH_WSDP_MID_MAX || !token_chars(m)) {
			ps->why = "malformed a=mid";
			return false;
		}
		copy(o->media_mid[ps->cur], sizeof(o->media_mid[0]), m);
	}
	if (ps->cur != ps->taken)
		return true;
	if (eq(a, "rtcp-mux"))
		o->rtcp_mux = true;
	else if (eq(a, "sendrecv"))
		o->dir = CH_WSDP_SENDRECV;
	else if (eq(a, "sendonly"))
		o->dir = CH_WSDP_SENDONLY;
	else if (eq(a, "recvonly"))
		o->dir = CH_WSDP_RECVONLY;
	else if (eq(a, "inactive"))
		o->dir = CH_WSDP_INACTIVE;
	else if (starts(a, "rtpmap:"))
		rtpmap(ps, after(a, 7));
	return level_attr(ps, &ps->audio, a);
}

static bool one_line(struct parse *ps, struct line l)
{
	if (l.n < 2 || l.p[1] != '=') {
		ps->why = "malformed line";
		return false;
	}
	struct line v = after(l, 2);
	if (l.p[0] == 'm')
		return mline(ps, v);
	if (l.p[0] != 'a')
		return true;
	if (ps->cur >= 0)
		return media_attr(ps, v);
	if (starts(v, "group:BUNDLE")) {
		ps->bundle = after(v, 12);
		ps->have_bundle = true;
		return true;
	}
	if (eq(v, "ice-lite")) {
		ps->ice_lite = true;
		return true;
	}
	return level_attr(ps, &ps->sess, v);
}

static bool bundled(struct parse *ps)
{
	struct line b = ps->bundle;
	if (!ps->have_bundle || !ps->o->mid[0])
		return false;
	for (;;) {
		struct line t = token(&b);
		if (t.n == 0)
			return false;
		if (eq(t, ps->o->mid))
			return true;
	}
}

/* The checks once every line is read. */
static bool finish(struct parse *ps)
{
	struct ch_wsdp_offer *o = ps->o;
	if (ps->taken < 0) {
		ps->why = "offer has no usable audio m-line "
		          "(UDP/TLS/RTP/SAVPF, port not 0)";
		return false;
	}
	memcpy(o->mid, o->media_mid[ps->taken], sizeof(o->mid));
	if (ps->ice_lite) {
		ps->why = "offer is ice-lite (so is chorusd)";
		return false;
	}
	struct level *a = &ps->audio, *s = &ps->sess;
	struct line uf = a->have_ufrag ? a->ufrag : s->ufrag;
	struct line pw = a->have_pwd ? a->pwd : s->pwd;
	if (!a->have_ufrag && !s->have_ufrag) {
		ps->why = "no ice-ufrag";
		return false;
	}
	if (!a->have_pwd && !s->have_pwd) {
		ps->why = "no ice-pwd";
		return false;
	}
	if (uf.n < 4 || uf.n > CH_WSDP_UFRAG_MAX || !ice_chars(uf)) {
		ps->why = "ice-ufrag is not 4..256 ice-chars";
		return false;
	}
	if (pw.n < 22 || pw.n > CH_WSDP_PWD_MAX || !ice_chars(pw)) {
		ps->why = "ice-pwd is not 22..256 ice-chars";
		return false;
	}
	copy(o->ice_ufrag, sizeof(o->ice_ufrag), uf);
	copy(o->ice_pwd, sizeof(o->ice_pwd), pw);
	struct level *fl = a->fp >= 0 ? a : s;
	if (fl->fp < 0) {
		ps->why = "no fingerprint";
		return false;
	}
	if (fl->fp != 0) {
		ps->why = "fingerprint is not sha-256";
		return false;
	}
	memcpy(o->fingerprint, fl->fingerprint, 32);
	int setup = a->setup >= 0 ? a->setup : s->setup;
	if (setup < 0) {
		ps->why = "no a=setup";
		return false;
	}
	if (setup == CH_WSDP_PASSIVE) {
		ps->why = "a=setup:passive (chorusd is the DTLS server)";
		return false;
	}
	o->setup = (enum ch_wsdp_setup)setup;
	if (!o->rtcp_mux) {
		ps->why = "no a=rtcp-mux";
		return false;
	}
	if (o->opus_pt < 0 && o->pcmu_pt < 0 && o->pcma_pt < 0) {
		ps->why = "no opus/48000/2, PCMU or PCMA offered";
		return false;
	}
	o->telev_pt = o->opus_pt >= 0 ? o->telev48_pt : o->telev8_pt;
	o->bundle = bundled(ps);
	return true;
}

int ch_wsdp_parse(const char *sdp, size_t len, struct ch_wsdp_offer *o,
                  const char **why)
{
	struct parse ps = {.o = o, .cur = -1, .taken = -1};
	static const char *dummy;
	if (!why)
		why = &dummy;
	memset(o, 0, sizeof(*o));
	o->opus_pt = o->pcmu_pt = o->pcma_pt = -1;
	o->telev_pt = o->telev48_pt = o->telev8_pt = -1;
	ps.sess.fp = ps.audio.fp = -1;
	ps.sess.setup = ps.audio.setup = -1;
	if (!sdp || len == 0) {
		*why = "empty offer";
		return EPROTO;
	}
	if (len > CH_WSDP_MAX_LEN) {
		*why = "offer over 64 KiB";
		return EPROTO;
	}
	unsigned lines = 0;
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(sdp + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - sdp) : len;
		struct line l = {sdp + i, end - i};
		if (l.n && l.p[l.n - 1] == '\r')
			l.n--;
		i = end + 1;
		if (++lines > CH_WSDP_MAX_LINES) {
			*why = "offer over 2,000 lines";
			return EPROTO;
		}
		if (lines == 1 && !eq(l, "v=0")) {
			*why = "offer does not start with v=0";
			return EPROTO;
		}
		if (l.n == 0)
			continue;
		if (memchr(l.p, '\0', l.n)) {
			*why = "NUL in offer";
			return EPROTO;
		}
		if (!one_line(&ps, l)) {
			*why = ps.why;
			return EPROTO;
		}
	}
	if (!finish(&ps)) {
		*why = ps.why;
		return EPROTO;
	}
	return 0;
}

enum ch_wsdp_codec ch_wsdp_choose(const struct ch_wsdp_offer *o, int *pt)
{
	if (o->opus_pt >= 0) {
		*pt = o->opus_pt;
		return CH_WSDP_OPUS;
	}
	if (o->pcmu_pt >= 0) {
		*pt = o->pcmu_pt;
		return CH_WSDP_PCMU;
	}
	*pt = o->pcma_pt;
	return CH_WSDP_PCMA;
}

/* The answer being written; overflow latches. */
struct out {
	char *p;
	size_t cap, n;
	bool full;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *w,
                                                      const char *fmt, ...)
{
	if (w->full)
		return;
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(w->p + w->n, w->cap - w->n, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= w->cap - w->n) {
		w->full = true;
		return;
	}
	w->n += (size_t)k;
}

static const char *answer_dir(enum ch_wsdp_dir d)
{
	switch (d) {
	case CH_WSDP_SENDONLY:
		return "recvonly";
	case CH_WSDP_RECVONLY:
		return "sendonly";
	case CH_WSDP_INACTIVE:
		return "inactive";
	default:
		return "sendrecv";
	}
}

static void audio_section(struct out *w, const struct ch_wsdp_offer *o,
                          const struct ch_wsdp_local *l, const char *ipv)
{
	int pt;
	enum ch_wsdp_codec c = ch_wsdp_choose(o, &pt);
	put(w, "m=audio %u UDP/TLS/RTP/SAVPF %d", l->port, pt);
	if (o->telev_pt >= 0)
		put(w, " %d", o->telev_pt);
	put(w, "\r\nc=IN %s %s\r\n", ipv, l->ip);
	put(w, "a=rtcp:%u IN %s %s\r\n", l->port, ipv, l->ip);
	if (o->mid[0])
		put(w, "a=mid:%s\r\n", o->mid);
	put(w, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", l->ice_ufrag, l->ice_pwd);
	put(w, "a=fingerprint:sha-256 ");
	for (int i = 0; i < 32; i++)
		put(w, i < 31 ? "%02X:" : "%02X\r\n", l->fingerprint[i]);
	put(w, "a=setup:passive\r\na=rtcp-mux\r\n");
	if (c == CH_WSDP_OPUS) {
		put(w, "a=rtpmap:%d opus/48000/2\r\n", pt);
		put(w, "a=fmtp:%d minptime=10;useinbandfec=1\r\n", pt);
	} else {
		put(w, "a=rtpmap:%d %s/8000\r\n", pt,
		    c == CH_WSDP_PCMU ? "PCMU" : "PCMA");
	}
	if (o->telev_pt >= 0) {
		put(w, "a=rtpmap:%d telephone-event/%d\r\n", o->telev_pt,
		    c == CH_WSDP_OPUS ? 48000 : 8000);
		put(w, "a=fmtp:%d 0-15\r\n", o->telev_pt);
	}
	put(w, "a=ptime:20\r\na=%s\r\n", answer_dir(o->dir));
	put(w, "a=msid:chorus audio\r\n");
	if (l->ssrc)
		put(w, "a=ssrc:%u cname:chorus\r\n", l->ssrc);
	put(w, "a=candidate:1 1 udp 2130706431 %s %u typ host\r\n", l->ip,
	    l->port);
	put(w, "a=end-of-candidates\r\n");
}

size_t ch_wsdp_answer(const struct ch_wsdp_offer *o,
                      const struct ch_wsdp_local *l, char *out, size_t cap)
{
	struct out w = {out, cap, 0, cap == 0};
	const char *ipv = strchr(l->ip, ':') ? "IP6" : "IP4";
	put(&w, "v=0\r\no=- %llu 1 IN %s %s\r\ns=-\r\nt=0 0\r\n",
	    (unsigned long long)l->sess_id, ipv, l->ip);
	put(&w, "a=ice-lite\r\n");
	if (o->bundle)
		put(&w, "a=group:BUNDLE %s\r\n", o->mid);
	put(&w, "a=msid-semantic: WMS chorus\r\n");
	for (unsigned i = 0; i < o->n_media && i < CH_WSDP_MAX_MEDIA; i++) {
		if (i == o->audio_idx) {
			audio_section(&w, o, l, ipv);
			continue;
		}
		put(&w, "m=%s 0 %s %s\r\nc=IN %s %s\r\n", o->media_kind[i],
		    o->media_proto[i], o->media_fmt[i], ipv, l->ip);
		if (o->media_mid[i][0])
			put(&w, "a=mid:%s\r\n", o->media_mid[i]);
		put(&w, "a=inactive\r\n");
	}
	return w.full ? 0 : w.n;
}

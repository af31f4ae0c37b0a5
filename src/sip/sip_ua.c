/*
 * sip_ua.c: the SIP stack: libre sip with UDP and TCP transports on the
 * configured address, the INVITE listener (sipsess), OPTIONS answered 200,
 * and an orderly close that hangs every call up.
 */
#include "sip/sip_int.h"
#include "util/log.h"

#include <re_net.h>

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Room for a burst of some 6,000 requests (2,500 BYEs at once) while the
 * control thread works through them. */
#define SIP_RCVBUF (8 * 1024 * 1024)
/* Buckets of the call tables, ours and libre's (transactions, dialogs,
 * sessions: it walks a bucket's list on every request): thousands of
 * calls stay a short walk. A power of two. */
#define CALL_BUCKETS 4096

static bool options_h(const struct sip_msg *msg, void *arg)
{
	struct ch_sip *sip = arg;
	if (pl_strcmp(&msg->met, "OPTIONS"))
		return false;
	(void)sip_treplyf(NULL, NULL, sip->sip, msg, false, 200, "OK",
	                  "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\n"
	                  "Accept: application/sdp\r\n"
	                  "Content-Length: 0\r\n\r\n");
	return true;
}

/* The local address the kernel would send from to reach peer (a
 * connected UDP socket sends nothing). */
static int route_src(const struct sa *peer, struct sa *out)
{
	struct sa p = *peer;
	socklen_t len = sizeof(out->u);
	int fd, err = 0;
	if (!sa_port(&p))
		sa_set_port(&p, 9);
	fd = socket(sa_af(&p), SOCK_DGRAM, 0);
	if (fd < 0)
		return errno;
	if (connect(fd, &p.u.sa, p.len) || getsockname(fd, &out->u.sa, &len))
		err = errno;
	else
		out->len = len;
	close(fd);
	return err;
}

void ch_sip_local_addr(const struct ch_sip *sip, const struct sa *peer,
                       const struct sa *via, struct sa *out)
{
	struct sa a;
	int af = sa_af(&sip->media_addr);
	*out = sip->media_addr;
	if (!sa_is_any(&sip->media_addr)) {
		sa_set_port(out, 0);
		return;
	}
	if (via && sa_af(via) == af && sa_isset(via, SA_ADDR))
		*out = *via;
	else if (peer && sa_af(peer) == af && sa_isset(peer, SA_ADDR) &&
	         !route_src(peer, &a))
		*out = a;
	else if (!net_default_source_addr_get(af, &a))
		*out = a;
	sa_set_port(out, 0);
}

/* Every request passes here before sipsess and the INVITE handler: over
 * UDP libre takes a message whose Content-Length is more than the body
 * that came (it checks that only over TCP): 400, and an ACK is dropped;
 * extra bytes past Content-Length are cut (RFC 3261 18.3; the buffer is
 * libre's copy of this one datagram). */
static bool guard_h(const struct sip_msg *msg, void *arg)
{
	struct ch_sip *sip = arg;

	if (msg->tp != SIP_TRANSP_UDP || !pl_isset(&msg->clen) || !msg->mb)
		return false;
	size_t left = mbuf_get_left(msg->mb);
	bool digits = msg->clen.l <= 9;
	for (size_t i = 0; digits && i < msg->clen.l; i++)
		digits = msg->clen.p[i] >= '0' && msg->clen.p[i] <= '9';
	if (digits && pl_u32(&msg->clen) <= left) {
		msg->mb->end = msg->mb->pos + pl_u32(&msg->clen);
		return false;
	}
	ch_log_info("sip", "%.*s refused: Content-Length %.*s, body %zu bytes",
	            (int)msg->met.l, msg->met.p, (int)msg->clen.l, msg->clen.p,
	            left);
	if (pl_strcmp(&msg->met, "ACK"))
		(void)sip_treply(NULL, sip->sip, msg, 400,
		                 "Content-Length Exceeds Body");
	return true;
}

/* Dial-ins from addr answered but not ACKed yet. */
static unsigned unconfirmed_from(const struct ch_sip *sip,
                                 const struct sa *addr)
{
	unsigned n = 0;
	if (list_count(&sip->unconfirmed) < sip->unconfirmed_per_ip)
		return 0; /* fewer in all than one address may hold */
	for (struct le *le = sip->unconfirmed.head; le; le = le->next) {
		const struct ch_sip_call *c = le->data;
		if (sa_cmp(&c->peer, addr, SA_ADDR))
			n++;
	}
	return n;
}

static void conn_h(const struct sip_msg *msg, void *arg)
{
	struct ch_sip *sip = arg;
	if (sip->closing) {
		(void)sip_treply(NULL, sip->sip, msg, 503,
		                 "Service Unavailable");
		return;
	}
	if (unconfirmed_from(sip, &msg->src) >= sip->unconfirmed_per_ip) {
		char src[64];
		(void)re_snprintf(src, sizeof(src), "%j", &msg->src);
		ch_log_info("sip",
		            "INVITE from %s refused: 503, %u calls from there "
		            "wait for their ACK",
		            src, sip->unconfirmed_per_ip);
		(void)sip_treplyf(NULL, NULL, sip->sip, msg, false, 503,
		                  "Service Unavailable",
		                  "Retry-After: %u\r\n"
		                  "Content-Length: 0\r\n\r\n",
		                  sip->ack_timeout_s);
		return;
	}
	ch_sip_call_incoming(sip, msg);
}

#define MAX_IFADDRS 32

struct ifaddrs_ctx {
	struct sa addr[MAX_IFADDRS];
	unsigned n;
	int af;
};

static bool ifaddr_h(const char *ifname, const struct sa *sa, void *arg)
{
	struct ifaddrs_ctx *x = arg;
	(void)ifname;
	if (sa_af(sa) != x->af || sa_is_linklocal(sa) || sa_is_any(sa))
		return false;
	for (unsigned i = 0; i < x->n; i++)
		if (sa_cmp(&x->addr[i], sa, SA_ADDR))
			return false;
	if (x->n < MAX_IFADDRS)
		x->addr[x->n++] = *sa;
	return false;
}

/* The addresses to listen on for want: itself, or for a wildcard every
 * address of that family on the host's interfaces, the default route's
 * first (libre sends its own requests from the first transport). */
static int listen_addrs(const struct sa *want, struct ifaddrs_ctx *x)
{
	struct sa def;
	memset(x, 0, sizeof(*x));
	x->af = sa_af(want);
	if (!sa_is_any(want)) {
		x->addr[x->n++] = *want;
		return 0;
	}
	if (!net_default_source_addr_get(x->af, &def))
		(void)ifaddr_h(NULL, &def, x);
	(void)net_if_apply(ifaddr_h, x);
	if (!x->n)
		return EADDRNOTAVAIL;
	if (x->n == MAX_IFADDRS)
		ch_log_warn("sip",
		            "more than %d local addresses: SIP listens "
		            "on the first %d only",
		            MAX_IFADDRS, MAX_IFADDRS);
	return 0;
}

/* UDP and TCP on each address, all on one port. For port 0, the first UDP
 * socket picks it and the others must get the same number; if one finds
 * it taken, start over (a few times). libre cannot bind SIP to a wildcard
 * address, so for 0.0.0.0 there is a pair per interface address: a
 * request's local address (Contact, SDP) is then the one it came in on. */
static int add_transports(struct ch_sip *sip, const struct sa *want)
{
	struct ifaddrs_ctx x;
	int err = listen_addrs(want, &x);
	if (err)
		return err;
	err = EADDRINUSE;
	for (int tries = 0; tries < 10 && err == EADDRINUSE; tries++) {
		uint16_t port = sa_port(want);
		for (unsigned i = 0; i < x.n; i++) {
			struct sa a = x.addr[i];
			sa_set_port(&a, port);
			err = sip_transp_add(sip->sip, SIP_TRANSP_UDP, &a);
			if (!err && !port) {
				(void)sip_transp_laddr(sip->sip, &a,
				                       SIP_TRANSP_UDP, NULL);
				port = sa_port(&a);
			}
			if (!err)
				(void)ch_sip_sockbuf_grow(&a, SIP_RCVBUF);
			if (!err)
				err = sip_transp_add(sip->sip, SIP_TRANSP_TCP,
				                     &a);
			if (err)
				break;
		}
		if (!err) {
			sip->laddr = *want;
			sa_set_port(&sip->laddr, port);
			return 0;
		}
		sip_transp_flush(sip->sip);
		if (sa_port(want))
			return err;
	}
	return err;
}

int ch_sip_alloc(struct ch_sip **sp, struct ch_core *core,
                 struct ch_media_engine *eng, const struct ch_sip_config *cfg)
{
	struct ch_sip *sip = mem_zalloc(sizeof(*sip), NULL);
	struct sa dns;
	int err;
	if (!sip)
		return ENOMEM;
	sip->core = core;
	sip->eng = eng;
	sip->dial_timeout_s = cfg->dial_timeout_s ? cfg->dial_timeout_s : 30;
	sip->ack_timeout_s = cfg->ack_timeout_s ? cfg->ack_timeout_s : 10;
	sip->unconfirmed_per_ip =
	    cfg->unconfirmed_per_ip ? cfg->unconfirmed_per_ip : 20;
	list_init(&sip->calls);
	list_init(&sip->unconfirmed);
	list_init(&sip->recs);
	list_init(&sip->jobs);
	sip->player = cfg->player;
	sip->recorder = cfg->recorder;
	sip->transcriber = cfg->transcriber;
	sip->laddr = *cfg->laddr;
	sip->media_addr = *cfg->laddr;
	if (cfg->public_ip && *cfg->public_ip)
		(void)sa_set_str(&sip->media_addr, cfg->public_ip, 0);
	err = hash_alloc(&sip->rooms, 256);
	if (!err)
		err = hash_alloc(&sip->calls_by_id, CALL_BUCKETS);
	if (!err)
		err = hash_alloc(&sip->calls_by_leg, CALL_BUCKETS);
	if (err)
		goto out;
	/* Only for SIP URIs with host names; none configured is fine. */
	(void)sa_set_str(&dns, "127.0.0.1", 53);
	err = dnsc_alloc(&sip->dnsc, NULL, &dns, 1);
	if (err)
		goto out;
	err = sip_alloc(&sip->sip, sip->dnsc, CALL_BUCKETS, CALL_BUCKETS,
	                CALL_BUCKETS, "chorusd", NULL, NULL);
	if (err)
		goto out;
	err = add_transports(sip, cfg->laddr);
	if (err)
		goto out;
	/* before sipsess: libre runs listeners in the order they came */
	err = sip_listen(&sip->guard, sip->sip, true, guard_h, sip);
	if (err)
		goto out;
	err = sipsess_listen(&sip->sock, sip->sip, CALL_BUCKETS, conn_h, sip);
	if (err)
		goto out;
	err = sip_listen(&sip->lsnr, sip->sip, true, options_h, sip);
	if (err)
		goto out;
	ch_sip_webrtc_init(sip);
	ch_sip_bridge_attach(sip);
out:
	if (err) {
		mem_deref(sip->lsnr);
		mem_deref(sip->sock);
		mem_deref(sip->guard);
		if (sip->sip)
			sip_close(sip->sip, true);
		mem_deref(sip->sip);
		mem_deref(sip->dnsc);
		mem_deref(sip->rooms);
		mem_deref(sip->calls_by_id);
		mem_deref(sip->calls_by_leg);
		mem_deref(sip);
		return err;
	}
	*sp = sip;
	return 0;
}

int ch_sip_local(const struct ch_sip *s, struct sa *out)
{
	*out = s->laddr;
	return 0;
}

void ch_sip_hangup_all(struct ch_sip *sip)
{
	sip->closing = true;
	/* the core records each call as ended; dropping the sessions sends
	 * the BYEs */
	for (struct le *le = sip->calls.head; le;) {
		struct ch_sip_call *c = le->data;
		le = le->next;
		ch_sip_call_end(c, "normal", "hangup");
	}
}

void ch_sip_free(struct ch_sip *sip)
{
	if (!sip)
		return;
	ch_sip_hangup_all(sip);
	while (sip->calls.head) {
		struct ch_sip_call *c = sip->calls.head->data;
		mem_deref(c);
	}
	ch_sip_bridge_close(sip);
	ch_sip_webrtc_close(sip);
	mem_deref(sip->lsnr);
	sipsess_close_all(sip->sock);
	mem_deref(sip->sock);
	mem_deref(sip->guard);
	sip_close(sip->sip, false);
	mem_deref(sip->sip);
	mem_deref(sip->dnsc);
	mem_deref(sip->rooms);
	mem_deref(sip->calls_by_id);
	mem_deref(sip->calls_by_leg);
	mem_deref(sip);
}

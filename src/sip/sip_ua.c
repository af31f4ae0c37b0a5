/*
 * sip_ua.c: the SIP stack: libre sip with UDP and TCP transports on the
 * configured address, the INVITE listener (sipsess), OPTIONS answered 200,
 * and an orderly close that hangs every call up.
 */
#include "sip/sip_int.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

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

static void conn_h(const struct sip_msg *msg, void *arg)
{
	struct ch_sip *sip = arg;
	if (sip->closing) {
		(void)sip_treply(NULL, sip->sip, msg, 503,
		                 "Service Unavailable");
		return;
	}
	ch_sip_call_incoming(sip, msg);
}

/* UDP and TCP on one address. For port 0, UDP picks a port and TCP must
 * get the same number; if TCP finds it taken, start over (a few times). */
static int add_transports(struct ch_sip *sip, const struct sa *want)
{
	int err = EADDRINUSE;
	for (int tries = 0; tries < 10 && err == EADDRINUSE; tries++) {
		struct sa a = *want;
		err = sip_transp_add(sip->sip, SIP_TRANSP_UDP, &a);
		if (err)
			return err;
		(void)sip_transp_laddr(sip->sip, &a, SIP_TRANSP_UDP, NULL);
		err = sip_transp_add(sip->sip, SIP_TRANSP_TCP, &a);
		if (!err) {
			sip->laddr = a;
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
	list_init(&sip->calls);
	sip->laddr = *cfg->laddr;
	sip->media_addr = *cfg->laddr;
	if (cfg->public_ip && *cfg->public_ip)
		(void)sa_set_str(&sip->media_addr, cfg->public_ip, 0);
	err = hash_alloc(&sip->rooms, 256);
	if (err)
		goto out;
	/* Only for SIP URIs with host names; none configured is fine. */
	(void)sa_set_str(&dns, "127.0.0.1", 53);
	err = dnsc_alloc(&sip->dnsc, NULL, &dns, 1);
	if (err)
		goto out;
	err =
	    sip_alloc(&sip->sip, sip->dnsc, 32, 32, 32, "chorusd", NULL, NULL);
	if (err)
		goto out;
	err = add_transports(sip, cfg->laddr);
	if (err)
		goto out;
	err = sipsess_listen(&sip->sock, sip->sip, 32, conn_h, sip);
	if (err)
		goto out;
	err = sip_listen(&sip->lsnr, sip->sip, true, options_h, sip);
	if (err)
		goto out;
	ch_sip_bridge_attach(sip);
out:
	if (err) {
		mem_deref(sip->lsnr);
		mem_deref(sip->sock);
		if (sip->sip)
			sip_close(sip->sip, true);
		mem_deref(sip->sip);
		mem_deref(sip->dnsc);
		mem_deref(sip->rooms);
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
	mem_deref(sip->lsnr);
	sipsess_close_all(sip->sock);
	mem_deref(sip->sock);
	sip_close(sip->sip, false);
	mem_deref(sip->sip);
	mem_deref(sip->dnsc);
	mem_deref(sip->rooms);
	mem_deref(sip);
}

/*
 * rtp_peer_janus.c: bench_rtp_peer joining Janus AudioBridge over its HTTP
 * transport, before the libre loop runs: a session, one audiobridge handle
 * per participant, the rooms (created on each room's first handle) and
 * each participant's join with an "rtp" object holding its own socket's
 * address; the plugin's answer on the long poll holds the address to send
 * to. A keeper thread then holds the session (janus_util.h). Design of
 * the whole program in bench_rtp_peer.c.
 */
#include "rtp_peer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Creates the rooms on the handle of each room's first participant. */
static int janus_rooms(void)
{
	for (unsigned r = 0; r < g.rooms; r++) {
		json_t *body = json_pack(
		    "{s:s,s:s,s:b,s:b,s:b}", "request", "create", "description",
		    "chorus compare", "allow_rtp_participants", 1, "record", 0,
		    "audiolevel_event", 0);
		if (g.rate)
			json_object_set_new(body, "sampling_rate",
			                    json_integer(g.rate));
		json_t *d = ju_message(&g.janus, g.partv[r * g.parts].handle,
		                       body, NULL);
		json_t *id = json_object_get(d, "room");
		if (!json_is_integer(id)) {
			fprintf(stderr,
			        "bench_rtp_peer: Janus create failed\n");
			json_decref(d);
			return -1;
		}
		g.roomv[r].janus_id = (uint64_t)json_integer_value(id);
		snprintf(g.roomv[r].id, sizeof(g.roomv[r].id), "%" PRIu64,
		         g.roomv[r].janus_id);
		json_decref(d);
	}
	return 0;
}

/* Sends p's join (acknowledged; the answer is an event). */
static int janus_join(struct part *p)
{
	const bool opus = g.codec == C_OPUS;
	json_t *rtp =
	    json_pack("{s:s,s:i,s:i}", "ip", g.local_ip, "port",
	              (int)sa_port(&p->laddr), "payload_type", opus ? 111 : 0);
	json_t *body = json_pack("{s:s,s:I,s:s,s:s}", "request", "join", "room",
	                         (json_int_t)p->room->janus_id, "codec",
	                         opus ? "opus" : "pcmu", "display", "peer");
	json_t *ack;

	if (opus) {
		json_object_set_new(rtp, "fec", json_boolean(1));
		json_object_set_new(body, "quality",
		                    json_integer(g.complexity));
		json_object_set_new(body, "expected_loss",
		                    json_integer(g.expected_loss));
	}
	if (g.prebuffer)
		json_object_set_new(body, "prebuffer",
		                    json_integer(g.prebuffer));
	json_object_set_new(body, "rtp", rtp);
	ack = ju_message(&g.janus, p->handle, body, p->txn);
	json_decref(ack);
	return ack ? 0 : -1;
}

/* A "joined" event answering one of our joins: where to send. */
static void janus_event(const json_t *ev)
{
	const char *txn = json_string_value(json_object_get(ev, "transaction"));
	json_t *d = ju_event_data(ev);
	json_t *rtp = json_object_get(d, "rtp");
	const char *ip = json_string_value(json_object_get(rtp, "ip"));
	json_int_t port = json_integer_value(json_object_get(rtp, "port"));

	if (!txn)
		return;
	for (unsigned k = 0; k < g.total; k++) {
		struct part *p = &g.partv[k];
		if (p->st != P_CALLING || strcmp(p->txn, txn))
			continue;
		if (ip && port > 0 && port < 65536 &&
		    !sa_set_str(&p->call.raddr, ip, (uint16_t)port)) {
			p->call.media = true;
			p->st = P_UP;
			g.dial.joined++;
		} else {
			char *s = json_dumps(ev, JSON_COMPACT);
			fprintf(stderr, "room %s #%u: join failed: %s\n",
			        p->room->id, p->idx, s ? s : "?");
			free(s);
			p->st = P_FAILED;
		}
		g.dial.resolved++;
		return;
	}
}

/* Session, handles, rooms, joins; waits 20 s at most for the answers.
 * Returns 0 when at least one participant joined. */
int janus_setup(void)
{
	uint64_t until;

	if (ju_open(&g.janus, g.url) || ju_session_create(&g.janus))
		return -1;
	for (unsigned k = 0; k < g.total; k++) {
		g.partv[k].handle =
		    ju_attach(&g.janus, "janus.plugin.audiobridge");
		if (!g.partv[k].handle)
			return -1;
	}
	if (janus_rooms())
		return -1;
	for (unsigned k = 0; k < g.total; k++) {
		struct part *p = &g.partv[k];
		p->st = P_CALLING;
		if (janus_join(p)) {
			p->st = P_FAILED;
			g.dial.resolved++;
		}
	}
	until = lu_now_ns() + 20000000000ull;
	while (g.dial.resolved < g.total && lu_now_ns() < until) {
		json_t *a = ju_poll(g.janus.curl, g.janus.url, g.janus.session,
		                    100, 5000);
		for (size_t i = 0; i < json_array_size(a); i++)
			janus_event(json_array_get(a, i));
		json_decref(a);
	}
	if (g.dial.resolved < g.total)
		fprintf(stderr, "bench_rtp_peer: %u of %u joins unanswered\n",
		        g.total - g.dial.resolved, g.total);
	return g.dial.joined ? ju_keeper_start(&g.keeper, &g.janus) : -1;
}

/* Destroys the rooms (Janus hangs up their participants), stops the
 * keeper, destroys the session. */
void janus_teardown(void)
{
	if (!g.janus.curl)
		return;
	ju_keeper_stop(&g.keeper);
	for (unsigned r = 0; g.janus.session && r < g.rooms; r++) {
		if (!g.roomv[r].janus_id)
			continue;
		json_decref(ju_message(
		    &g.janus, g.partv[r * g.parts].handle,
		    json_pack("{s:s,s:I}", "request", "destroy", "room",
		              (json_int_t)g.roomv[r].janus_id),
		    NULL));
	}
	ju_session_destroy(&g.janus);
	ju_close(&g.janus);
}

/*
 * action_runner.c: a participant's actions and prompts. pre_actions run
 * while it is joining (after its call is answered), post_actions while
 * it is leaving (removed with its call still up); each talk, play or beep
 * is a prompt the media layer plays to that participant alone, sleep is
 * a timer, hangup ends the call. The runner then joins the participant
 * (pre) or hangs it up (post). The same per-participant state carries a
 * prompt asked for through the API (POST /conferencecalls/{id}/play or
 * /talk), reported with conference.member.play.* events.
 *
 * A runner lives in core->runners from its first use until the
 * participant leaves. Control thread only.
 */
#include "core/actions.h"
#include "core/conference.h"
#include "core/conferencecall.h"
#include "core/core_internal.h"
#include "events/events.h"
#include "store/store.h"
#include "util/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum phase { PHASE_NONE = 0, PHASE_PRE, PHASE_POST };

/* One participant's actions and prompts. Owned by core->runners. */
struct ch_runner {
	struct le le;
	struct ch_core *core;
	char cc_id[CH_UUID_LEN];
	enum phase phase;
	json_t *actions; /* the list being run (owned), NULL: none */
	size_t idx;      /* next action */
	uint64_t op;     /* the action prompt playing, 0: none */
	struct tmr tmr;  /* sleep */
	uint64_t api_op; /* an API prompt playing, 0: none */
	char api_id[CH_UUID_LEN];
};

static struct ch_runner *find(struct ch_core *core, const char *cc_id)
{
	struct le *le;
	LIST_FOREACH(&core->runners, le)
	{
		struct ch_runner *r = le->data;
		if (!strcmp(r->cc_id, cc_id))
			return r;
	}
	return NULL;
}

static struct ch_runner *get(struct ch_core *core, const char *cc_id)
{
	struct ch_runner *r = find(core, cc_id);
	if (r)
		return r;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->core = core;
	snprintf(r->cc_id, sizeof(r->cc_id), "%s", cc_id);
	tmr_init(&r->tmr);
	list_append(&core->runners, &r->le, r);
	return r;
}

static void runner_free(struct ch_runner *r)
{
	tmr_cancel(&r->tmr);
	json_decref(r->actions);
	list_unlink(&r->le);
	free(r);
}

void ch_runner_flush(struct ch_core *core)
{
	while (core->runners.head)
		runner_free(core->runners.head->data);
}

void ch_runner_left(struct ch_core *core, const char *conferencecall_id)
{
	struct ch_runner *r = find(core, conferencecall_id);
	if (r)
		runner_free(r);
}

/* A prompt from a talk/play/beep action or request body. urls is filled
 * from opt and must be freed by the caller. */
static int prompt_of(const char *type, json_t *opt, struct ch_core_prompt *p,
                     const char ***urls)
{
	memset(p, 0, sizeof(*p));
	*urls = NULL;
	if (!strcmp(type, "beep")) {
		p->kind = CH_PROMPT_BEEP;
		return 0;
	}
	if (!strcmp(type, "talk")) {
		p->kind = CH_PROMPT_TALK;
		p->text = json_string_value(json_object_get(opt, "text"));
		p->language =
		    json_string_value(json_object_get(opt, "language"));
		if (!p->language)
			p->language = CH_ACTION_DEFAULT_LANGUAGE;
		return p->text ? 0 : EINVAL;
	}
	json_t *u = json_object_get(opt, "urls");
	size_t n = json_array_size(u);
	if (!n)
		return EINVAL;
	*urls = calloc(n, sizeof(**urls));
	if (!*urls)
		return ENOMEM;
	for (size_t i = 0; i < n; i++)
		(*urls)[i] = json_string_value(json_array_get(u, i));
	p->kind = CH_PROMPT_URLS;
	p->urls = *urls;
	p->nurls = n;
	return 0;
}

/* Plays prompt p to participant cc_id as op. */
static int play_to(struct ch_core *core, const char *cc_id, uint64_t op,
                   const struct ch_core_prompt *p)
{
	struct ch_conferencecall cc;
	if (!core->media || !core->media->participant_prompt)
		return ENOTSUP;
	int err = ch_conferencecall_get(core, NULL, cc_id, &cc);
	if (err)
		return err;
	return core->media->participant_prompt(core->media_arg, &cc, op, p);
}

static void hangup(struct ch_core *core, const char *cc_id)
{
	struct ch_conferencecall cc;
	if (ch_conferencecall_get(core, NULL, cc_id, &cc))
		return;
	if (core->media && core->media->participant_hangup)
		core->media->participant_hangup(core->media_arg, &cc);
	else
		(void)ch_conferencecall_left(core, cc_id, CH_LEAVE_REMOVED);
}

static void step(struct ch_runner *r);

static void sleep_h(void *arg)
{
	step(arg);
}

/* The list is done (or ended by hangup): join or hang up. */
static void done(struct ch_runner *r, bool hang)
{
	struct ch_core *core = r->core;
	char id[CH_UUID_LEN];
	enum phase ph = r->phase;

	memcpy(id, r->cc_id, CH_UUID_LEN);
	r->phase = PHASE_NONE;
	json_decref(r->actions);
	r->actions = NULL;
	if (ph == PHASE_PRE && !hang)
		(void)ch_conferencecall_join_now(core, id);
	else
		hangup(core, id); /* may free r */
}

static void step(struct ch_runner *r)
{
	while (r->actions && r->idx < json_array_size(r->actions)) {
		json_t *a = json_array_get(r->actions, r->idx++);
		const char *t = json_string_value(json_object_get(a, "type"));
		json_t *opt = json_object_get(a, "option");
		if (!t)
			continue;
		if (!strcmp(t, "sleep")) {
			tmr_start(&r->tmr,
			          (uint64_t)json_integer_value(
			              json_object_get(opt, "duration")),
			          sleep_h, r);
			return;
		}
		if (!strcmp(t, "hangup")) {
			done(r, true);
			return;
		}
		struct ch_core_prompt p;
		const char **urls;
		if (prompt_of(t, opt, &p, &urls))
			continue;
		r->op = ++r->core->next_op;
		int err = play_to(r->core, r->cc_id, r->op, &p);
		free(urls);
		if (!err)
			return; /* ch_core_prompt_done goes on */
		r->op = 0;
		ch_log_warn("core", "participant %s: %s action skipped: %s",
		            r->cc_id, t, strerror(err));
	}
	done(r, false);
}

/* Starts list (JSON text) in phase ph; false if it is empty. */
static bool start(struct ch_core *core, const struct ch_conferencecall *cc,
                  const char *list, enum phase ph)
{
	json_t *a = json_loads(list ? list : "[]", 0, NULL);
	if (!json_array_size(a)) {
		json_decref(a);
		return false;
	}
	struct ch_runner *r = get(core, cc->id);
	if (!r) {
		json_decref(a);
		return false;
	}
	tmr_cancel(&r->tmr);
	json_decref(r->actions);
	r->actions = a;
	r->idx = 0;
	r->op = 0;
	r->phase = ph;
	ch_log_info("core", "participant %s: %s actions (%zu)", cc->id,
	            ph == PHASE_PRE ? "pre" : "post", json_array_size(a));
	if (core->media && core->media->participant_isolate)
		core->media->participant_isolate(core->media_arg, cc, true);
	step(r);
	return true;
}

bool ch_runner_pre(struct ch_core *core, const struct ch_conferencecall *cc)
{
	struct ch_conference c;
	struct ch_runner *r = find(core, cc->id);
	if (r && r->phase == PHASE_PRE)
		return true; /* already running */
	if (ch_conference_get(core, NULL, cc->conference_id, &c))
		return false;
	bool ran = start(core, cc, c.pre_actions, PHASE_PRE);
	ch_conference_clear(&c);
	return ran;
}

bool ch_runner_post(struct ch_core *core, const struct ch_conferencecall *cc)
{
	struct ch_conference c;
	if (!core->media || !core->media->participant_alive ||
	    !core->media->participant_alive(core->media_arg, cc))
		return false;
	if (ch_conference_get(core, NULL, cc->conference_id, &c))
		return false;
	bool ran = start(core, cc, c.post_actions, PHASE_POST);
	ch_conference_clear(&c);
	return ran;
}

static void member_play_event(struct ch_core *core, const char *cc_id,
                              const char *what, const char *op)
{
	struct ch_conferencecall cc;
	char type[48];
	if (ch_conferencecall_get(core, NULL, cc_id, &cc))
		return;
	json_t *f = json_object();
	if (!f)
		return;
	snprintf(type, sizeof(type), "conference.member.play.%s", what);
	json_object_set_new(f, "session_uuid", json_string(cc.id));
	json_object_set_new(f, "caller_id", json_string(cc.caller_id));
	json_object_set_new(f, "operation_id", json_string(op));
	if (ch_core_txn_begin(core)) {
		json_decref(f);
		return;
	}
	if (ch_events_add(core->ev, cc.customer_id, cc.conference_id, type, f))
		ch_core_txn_abort(core);
	else
		(void)ch_core_txn_commit(core);
}

void ch_core_prompt_done(struct ch_core *core, const char *conferencecall_id,
                         uint64_t op, bool ok)
{
	struct ch_runner *r = find(core, conferencecall_id);
	if (!r || !op)
		return;
	if (r->op == op) {
		r->op = 0;
		step(r);
	} else if (r->api_op == op) {
		char id[CH_UUID_LEN];
		memcpy(id, r->api_id, CH_UUID_LEN);
		r->api_op = 0;
		member_play_event(core, conferencecall_id,
		                  ok ? "finished" : "failed", id);
	}
}

int ch_conferencecall_prompt(struct ch_core *core, const char *customer_id,
                             const char *id, const char *type, json_t *opt,
                             char op[CH_UUID_LEN])
{
	struct ch_conferencecall cc;
	struct ch_core_prompt p;
	const char **urls;
	int err = ch_conferencecall_get(core, customer_id, id, &cc);
	if (err)
		return err;
	if (cc.status != CH_CONFERENCECALL_JOINED)
		return EBUSY;
	err = prompt_of(type, opt, &p, &urls);
	if (err)
		return err;
	struct ch_runner *r = get(core, cc.id);
	if (!r) {
		free(urls);
		return ENOMEM;
	}
	r->api_op = ++core->next_op;
	ch_uuid_new(r->api_id);
	memcpy(op, r->api_id, CH_UUID_LEN);
	member_play_event(core, cc.id, "started", r->api_id);
	err = play_to(core, cc.id, r->api_op, &p);
	free(urls);
	if (err) {
		r->api_op = 0;
		member_play_event(core, cc.id, "failed", op);
	}
	return 0;
}

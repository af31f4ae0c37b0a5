/*
 * bus.c: the cluster bus (bus.h) over libnats.
 *
 * Design. libnats calls back on its own threads: a reader, one delivery
 * thread per subscription and a thread for connection events. Every such
 * callback only makes a small event (struct ev: a message, or "the
 * connection is lost") and appends it to a FIFO in the link, under the
 * link's lock; the first event of a batch also pushes one wake-up into a
 * libre mqueue (at most one in the pipe, the pattern of
 * services/recorder.c). The mqueue handler, on the control thread, takes
 * the events one by one and calls the user's handlers.
 *
 * The link outlives the bus: libnats may call a handler once more after a
 * subscription or the connection is closed. It is plain malloc'd memory
 * with an atomic count of references: one for the bus, one for the
 * connection (given back by the closed callback) and one per subscription
 * (given back by its on-complete callback, which libnats calls after the
 * last message handler returned). When the bus closes it sets the link's
 * mqueue to NULL under the lock: events that come later are freed at once.
 *
 * Requests: one wildcard subscription per bus on "<inbox>.*"; a request is
 * published with the reply subject "<inbox>.<token>", token a counter, and
 * kept in a list with a libre tmr for its timeout. The server answers a
 * request nobody subscribes to with a "no responders" status message, which
 * ends the request ENOTCONN; a lost connection ends every pending request
 * ENOTCONN too.
 */
#include "cluster/bus.h"
#include "util/log.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

#include <re_types.h>
#include <re_mem.h>
#include <re_list.h>
#include <re_tmr.h>
#include <re_mqueue.h>

#define LOG_MOD "bus"

#define CONNECT_TIMEOUT_MS 2000

enum ev_kind { EV_MSG, EV_DISCONNECTED, EV_RECONNECTED };

/* One libnats callback on its way to the control thread. Made on a libnats
 * thread, owned by the link's FIFO, then by the control thread. */
struct ev {
	struct ev *next;
	enum ev_kind kind;
	int64_t sid;  /* EV_MSG: the libnats subscription id */
	natsMsg *msg; /* EV_MSG */
};

/* What libnats threads share with the control thread. malloc'd; freed by
 * whoever drops the last reference (any thread). */
struct link {
	atomic_int refs;
	pthread_mutex_t lock;
	/* Guarded by lock. */
	struct mqueue *mq; /* NULL once the bus is closed */
	struct ev *head, *tail;
	bool wake_pending;
};

/* One subscription; owned by the bus (control thread). */
struct sub {
	struct le le; /* in bus->subs */
	natsSubscription *ns;
	int64_t sid;
	ch_bus_msg_h *h;
	void *arg;
};

/* The bus. A libre mem object owned by the control thread; the mqueue
 * handler holds a reference while it calls handlers. */
struct ch_bus {
	struct link *link;  /* set by connect, released by the destructor */
	struct mqueue *mq;  /* the link's wake-ups */
	natsConnection *nc; /* NULL after close */
	natsInbox *inbox;   /* "_INBOX.<nuid>" */
	natsSubscription *inbox_ns;
	int64_t inbox_sid;
	struct list subs; /* struct sub */
	struct list reqs; /* struct ch_bus_req, pending */
	uint64_t next_token;
	bool closed;
	struct ch_bus_stats stats;
};

/* A request; see bus.h. Control thread. */
struct ch_bus_req {
	struct le le;       /* in bus->reqs (or a local list) while pending */
	struct ch_bus *bus; /* NULL once ended or detached */
	uint64_t token;
	struct tmr tmr;
	ch_bus_reply_h *h;
	void *arg;
	bool owned; /* reqp was NULL: the bus frees it */
};

/* libnats statuses as errno values; others are EIO. */
static const struct {
	natsStatus s;
	int err;
} status_errs[] = {
    {NATS_OK, 0},
    {NATS_NO_MEMORY, ENOMEM},
    {NATS_INVALID_ARG, EINVAL},
    {NATS_INVALID_SUBJECT, EINVAL},
    {NATS_CONNECTION_CLOSED, ENOTCONN},
    {NATS_CONNECTION_DISCONNECTED, ENOTCONN},
    {NATS_NOT_YET_CONNECTED, ENOTCONN},
    {NATS_NO_SERVER, ECONNREFUSED},
    {NATS_TIMEOUT, ETIMEDOUT},
    {NATS_MAX_PAYLOAD, EMSGSIZE},
    {NATS_INSUFFICIENT_BUFFER, ENOBUFS},
};

static int status_err(natsStatus s)
{
	for (size_t i = 0; i < sizeof(status_errs) / sizeof(status_errs[0]);
	     i++)
		if (status_errs[i].s == s)
			return status_errs[i].err;
	return EIO;
}

static void ev_free(struct ev *ev)
{
	natsMsg_Destroy(ev->msg); /* NULL-safe */
	free(ev);
}

static void link_release(struct link *l)
{
	if (atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* Queues an event for the control thread; drops it if the bus is closed
 * (or memory is short: nothing could tell it). Takes msg. Any thread. */
static void link_post(struct link *l, enum ev_kind kind, int64_t sid,
                      natsMsg *msg)
{
	struct ev *ev = calloc(1, sizeof(*ev));
	if (!ev) {
		natsMsg_Destroy(msg);
		return;
	}
	ev->kind = kind;
	ev->sid = sid;
	ev->msg = msg;
	pthread_mutex_lock(&l->lock);
	if (!l->mq) {
		pthread_mutex_unlock(&l->lock);
		ev_free(ev);
		return;
	}
	if (l->tail)
		l->tail->next = ev;
	else
		l->head = ev;
	l->tail = ev;
	/* one wake-up in the pipe; if it cannot go, the next event tries */
	if (!l->wake_pending)
		l->wake_pending = !mqueue_push(l->mq, 0, NULL);
	pthread_mutex_unlock(&l->lock);
}

static struct ev *link_take(struct link *l)
{
	pthread_mutex_lock(&l->lock);
	struct ev *ev = l->head;
	if (ev) {
		l->head = ev->next;
		if (!l->head)
			l->tail = NULL;
	} else {
		l->wake_pending = false;
	}
	pthread_mutex_unlock(&l->lock);
	return ev;
}

/* libnats threads. */
static void nats_msg_h(natsConnection *nc, natsSubscription *ns, natsMsg *msg,
                       void *closure)
{
	link_post(closure, EV_MSG, natsSubscription_GetID(ns), msg);
}

static void nats_disconnected_h(natsConnection *nc, void *closure)
{
	link_post(closure, EV_DISCONNECTED, 0, NULL);
}

static void nats_reconnected_h(natsConnection *nc, void *closure)
{
	link_post(closure, EV_RECONNECTED, 0, NULL);
}

static void nats_closed_h(natsConnection *nc, void *closure)
{
	link_release(closure);
}

static void nats_sub_complete_h(void *closure)
{
	link_release(closure);
}

/* Control thread from here on. */

/* Ends req: unlinks it, then calls its handler (unless call is false: the
 * bus closes) as the last use of it. */
static void req_end(struct ch_bus_req *req, bool call, int err,
                    const void *data, size_t len)
{
	ch_bus_reply_h *h = req->h;
	void *arg = req->arg;

	tmr_cancel(&req->tmr);
	list_unlink(&req->le);
	req->bus = NULL;
	req->h = NULL;
	if (req->owned)
		mem_deref(req);
	if (call && h)
		h(err, data, len, arg);
}

static void req_destructor(void *arg)
{
	struct ch_bus_req *req = arg;

	tmr_cancel(&req->tmr);
	list_unlink(&req->le);
}

static void req_timeout_h(void *arg)
{
	struct ch_bus_req *req = arg;

	req->bus->stats.timeouts++;
	req_end(req, true, ETIMEDOUT, NULL, 0);
}

static void reply_msg(struct ch_bus *bus, natsMsg *msg)
{
	const char *subj = natsMsg_GetSubject(msg);
	size_t plen = strlen(bus->inbox);
	if (strncmp(subj, bus->inbox, plen) || subj[plen] != '.')
		return;
	char *end;
	errno = 0;
	uint64_t token = strtoull(subj + plen + 1, &end, 10);
	if (errno || *end)
		return;
	for (struct le *le = list_head(&bus->reqs); le; le = le->next) {
		struct ch_bus_req *req = le->data;
		if (req->token != token)
			continue;
		if (natsMsg_IsNoResponders(msg)) {
			req_end(req, true, ENOTCONN, NULL, 0);
			return;
		}
		bus->stats.replies++;
		req_end(req, true, 0, natsMsg_GetData(msg),
		        (size_t)natsMsg_GetDataLength(msg));
		return;
	}
	/* late: its request timed out or was cancelled */
}

static void sub_msg(struct ch_bus *bus, int64_t sid, natsMsg *msg)
{
	for (struct le *le = list_head(&bus->subs); le; le = le->next) {
		struct sub *s = le->data;
		if (s->sid != sid)
			continue;
		bus->stats.received++;
		s->h(natsMsg_GetSubject(msg), natsMsg_GetReply(msg),
		     natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg),
		     s->arg);
		return;
	}
}

/* The connection is lost: every request pending now ends ENOTCONN (the
 * ones made by these handlers are sent after the reconnection). */
static void fail_pending(struct ch_bus *bus)
{
	struct list now = LIST_INIT;
	struct le *le;

	while ((le = list_head(&bus->reqs))) {
		list_unlink(le);
		list_append(&now, le, le->data);
	}
	while (!bus->closed && (le = list_head(&now)))
		req_end(le->data, true, ENOTCONN, NULL, 0);
	while ((le = list_head(&now)))
		req_end(le->data, false, 0, NULL, 0);
}

static void dispatch(struct ch_bus *bus, struct ev *ev)
{
	switch (ev->kind) {
	case EV_MSG:
		if (ev->sid == bus->inbox_sid)
			reply_msg(bus, ev->msg);
		else
			sub_msg(bus, ev->sid, ev->msg);
		break;
	case EV_DISCONNECTED:
		ch_log_warn(LOG_MOD, "connection lost, reconnecting");
		fail_pending(bus);
		break;
	case EV_RECONNECTED:
		ch_log_info(LOG_MOD, "reconnected");
		break;
	}
}

static void wake_h(int id, void *data, void *arg)
{
	struct ch_bus *bus = arg;

	(void)id;
	(void)data;
	mem_ref(bus);
	while (!bus->closed) {
		struct ev *ev = link_take(bus->link);
		if (!ev)
			break;
		dispatch(bus, ev);
		ev_free(ev);
	}
	mem_deref(bus);
}

/* Stops every handler and closes the connection; idempotent. */
static void bus_shutdown(struct ch_bus *bus)
{
	struct le *le;

	if (bus->closed)
		return;
	bus->closed = true;
	if (bus->link) {
		struct link *l = bus->link;
		pthread_mutex_lock(&l->lock);
		l->mq = NULL;
		struct ev *ev = l->head;
		l->head = l->tail = NULL;
		pthread_mutex_unlock(&l->lock);
		while (ev) {
			struct ev *next = ev->next;
			ev_free(ev);
			ev = next;
		}
	}
	while ((le = list_head(&bus->reqs)))
		req_end(le->data, false, 0, NULL, 0);
	while ((le = list_head(&bus->subs))) {
		struct sub *s = le->data;
		list_unlink(le);
		natsSubscription_Destroy(s->ns);
		mem_deref(s);
	}
	if (bus->inbox_ns)
		natsSubscription_Destroy(bus->inbox_ns);
	bus->inbox_ns = NULL;
	if (bus->nc)
		natsConnection_Destroy(bus->nc);
	bus->nc = NULL;
}

static void bus_destructor(void *arg)
{
	struct ch_bus *bus = arg;

	bus_shutdown(bus);
	bus->mq = mem_deref(bus->mq);
	if (bus->link)
		link_release(bus->link);
	if (bus->inbox)
		natsInbox_Destroy(bus->inbox);
}

/* Subscribes on libnats for bus, the link referenced by the subscription
 * until its on-complete callback. */
static int nats_sub(struct ch_bus *bus, natsSubscription **nsp, int64_t *sidp,
                    const char *subject)
{
	natsSubscription *ns = NULL;

	natsStatus s = natsConnection_Subscribe(&ns, bus->nc, subject,
	                                        nats_msg_h, bus->link);
	if (s != NATS_OK)
		return status_err(s);
	atomic_fetch_add(&bus->link->refs, 1);
	s = natsSubscription_SetOnCompleteCB(ns, nats_sub_complete_h,
	                                     bus->link);
	if (s != NATS_OK) {
		/* closed under us (the connection closed): its handler may
		 * still run, so its reference on the link is kept */
		natsSubscription_Destroy(ns);
		return ENOTCONN;
	}
	*nsp = ns;
	*sidp = natsSubscription_GetID(ns);
	return 0;
}

static bool url_ok(const char *url)
{
	return url && !strncmp(url, "nats://", 7) && url[7] && url[7] != ':' &&
	       !strchr(url, ' ');
}

static int nats_open(struct ch_bus *bus, const char *url, const char *name)
{
	natsOptions *opts = NULL;
	struct link *l = bus->link;
	natsStatus s = natsOptions_Create(&opts);

	s = s ? s : natsOptions_SetURL(opts, url);
	s = s ? s : natsOptions_SetName(opts, name);
	s = s ? s : natsOptions_SetTimeout(opts, CONNECT_TIMEOUT_MS);
	s = s ? s : natsOptions_SetMaxReconnect(opts, -1); /* forever */
	/* a forwarded request waits for its reply: send each message at
	 * once instead of batching it for the flusher thread */
	s = s ? s : natsOptions_SetSendAsap(opts, true);
	s = s ? s : natsOptions_SetDisconnectedCB(opts, nats_disconnected_h, l);
	s = s ? s : natsOptions_SetReconnectedCB(opts, nats_reconnected_h, l);
	s = s ? s : natsOptions_SetClosedCB(opts, nats_closed_h, l);
	/* nats_closed_h's reference; a failed connect calls no callback */
	atomic_fetch_add(&l->refs, 1);
	s = s ? s : natsConnection_Connect(&bus->nc, opts);
	natsOptions_Destroy(opts);
	if (s == NATS_OK)
		return 0;
	link_release(l);
	bus->nc = NULL;
	ch_log_error(LOG_MOD, "cannot connect to %s: %s", url,
	             natsStatus_GetText(s));
	int err = status_err(s);
	return err == ENOMEM || err == EINVAL ? err : ECONNREFUSED;
}

int ch_bus_connect(struct ch_bus **busp, const char *url, const char *name)
{
	struct ch_bus *bus;
	char isub[128];
	int err;

	if (!busp || !name || !url_ok(url)) {
		ch_log_error(LOG_MOD, "cannot connect to %s: bad url",
		             url ? url : "(null)");
		return EINVAL;
	}
	bus = mem_zalloc(sizeof(*bus), bus_destructor);
	if (!bus)
		return ENOMEM;
	bus->link = calloc(1, sizeof(*bus->link));
	if (!bus->link) {
		err = ENOMEM;
		goto out;
	}
	atomic_init(&bus->link->refs, 1);
	pthread_mutex_init(&bus->link->lock, NULL);
	err = mqueue_alloc(&bus->mq, wake_h, bus);
	if (err)
		goto out;
	bus->link->mq = bus->mq;
	err = status_err(natsInbox_Create(&bus->inbox));
	if (err)
		goto out;
	err = nats_open(bus, url, name);
	if (err)
		goto out;
	snprintf(isub, sizeof(isub), "%s.*", bus->inbox);
	err = nats_sub(bus, &bus->inbox_ns, &bus->inbox_sid, isub);
	if (err)
		ch_log_error(LOG_MOD, "cannot subscribe the reply inbox: %s",
		             strerror(err));
	else
		ch_log_info(LOG_MOD, "connected to %s as %s", url, name);
out:
	if (err)
		ch_bus_close(bus);
	else
		*busp = bus;
	return err;
}

void ch_bus_close(struct ch_bus *bus)
{
	if (!bus)
		return;
	bus_shutdown(bus);
	mem_deref(bus);
}

int ch_bus_subscribe(struct ch_bus *bus, const char *subject, ch_bus_msg_h *h,
                     void *arg)
{
	if (!bus || !subject || !h)
		return EINVAL;
	if (bus->closed)
		return ENOTCONN;
	struct sub *s = mem_zalloc(sizeof(*s), NULL);
	if (!s)
		return ENOMEM;
	int err = nats_sub(bus, &s->ns, &s->sid, subject);
	if (err) {
		mem_deref(s);
		return err;
	}
	s->h = h;
	s->arg = arg;
	list_append(&bus->subs, &s->le, s);
	return 0;
}

int ch_bus_publish(struct ch_bus *bus, const char *subject, const void *data,
                   size_t len)
{
	if (!bus || !subject || (!data && len) || len > INT32_MAX)
		return EINVAL;
	if (bus->closed)
		return ENOTCONN;
	int err = status_err(
	    natsConnection_Publish(bus->nc, subject, data, (int)len));
	if (!err)
		bus->stats.published++;
	return err;
}

int ch_bus_request(struct ch_bus_req **reqp, struct ch_bus *bus,
                   const char *subject, const void *data, size_t len,
                   unsigned timeout_ms, ch_bus_reply_h *h, void *arg)
{
	char reply[128];

	if (!bus || !subject || !h || !timeout_ms || (!data && len) ||
	    len > INT32_MAX)
		return EINVAL;
	if (bus->closed)
		return ENOTCONN;
	struct ch_bus_req *req = mem_zalloc(sizeof(*req), req_destructor);
	if (!req)
		return ENOMEM;
	tmr_init(&req->tmr);
	req->token = ++bus->next_token;
	snprintf(reply, sizeof(reply), "%s.%" PRIu64, bus->inbox, req->token);
	int err = status_err(natsConnection_PublishRequest(
	    bus->nc, subject, reply, data, (int)len));
	if (err) {
		mem_deref(req);
		return err;
	}
	req->bus = bus;
	req->h = h;
	req->arg = arg;
	req->owned = !reqp;
	list_append(&bus->reqs, &req->le, req);
	tmr_start(&req->tmr, timeout_ms, req_timeout_h, req);
	bus->stats.requests++;
	if (reqp)
		*reqp = req;
	return 0;
}

int ch_bus_respond(struct ch_bus *bus, const char *reply, const void *data,
                   size_t len)
{
	if (!reply)
		return EINVAL;
	return ch_bus_publish(bus, reply, data, len);
}

void ch_bus_stats(const struct ch_bus *bus, struct ch_bus_stats *out)
{
	if (out)
		*out = bus ? bus->stats : (struct ch_bus_stats){0};
}

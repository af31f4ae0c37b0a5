/*
 * worker.h: private to the media engine: one media worker thread, the
 * commands the control thread sends it and the events it sends back.
 *
 * Threads. A worker is created and destroyed by the control thread
 * (engine.c). Between ch_media_worker_alloc() and ch_media_worker_stop()
 * its thread runs worker.c's loop: epoll over the RTP/RTCP sockets of its
 * legs, the command eventfd and a 20 ms timerfd. The control thread adds
 * and removes the legs' sockets in the worker's epoll set itself
 * (epoll_ctl is thread-safe), so the worker makes no system call but
 * socket I/O, epoll_wait, timerfd/eventfd reads, the event eventfd write
 * and clock_gettime.
 *
 * Queues. cmds: control thread -> worker; evs: worker -> control thread.
 * Both are SPSC rings (ring.h). The control thread wakes the worker by
 * writing cmd_efd; the worker wakes the control thread (a libre fd_listen
 * on ev_efd) once per loop iteration in which it queued events. Removal
 * acknowledgements and states to free are never lost: if the event ring
 * is full the worker keeps them on intrusive lists and retries; so are
 * clips handed back (source.h) and recorder taps let go of (room.h).
 */
#ifndef CH_MEDIA_WORKER_H
#define CH_MEDIA_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "media/codec.h"
#include "media/leg.h"
#include "media/ring.h"
#include "media/room.h"
#include "media/rtp.h"
#include "media/source.h"
#include "util/histogram.h"

struct ch_stun_hmac;
struct ch_media_wrtc;
struct srtp;

/* Datagrams read per recvmmsg call. */
#define CH_MEDIA_RX_BATCH 16
/* Control bytes per received packet: room for one struct timespec. */
#define CH_MEDIA_RX_CTL 64
/* Ring sizes (elements). */
#define CH_MEDIA_CMD_RING 4096
#define CH_MEDIA_EV_RING  4096
/* Ticks run back to back after a stall; beyond, time is skipped. */
#define CH_MEDIA_MAX_CATCHUP 10
/* Tick period. */
#define CH_MEDIA_TICK_MS 20

enum ch_media_cmd_type {
	CH_MEDIA_CMD_ROOM_ADD = 0,  /* room, rate */
	CH_MEDIA_CMD_ROOM_REMOVE,   /* room -> EV_ROOM_GONE */
	CH_MEDIA_CMD_ROOM_RATE,     /* room, rate */
	CH_MEDIA_CMD_ROOM_SHARED,   /* room, codec, cs (NULL: none) */
	CH_MEDIA_CMD_ROOM_SLOTS,    /* room, slots: bigger leg arrays */
	CH_MEDIA_CMD_LEG_ADD,       /* leg (its room is leg->room) */
	CH_MEDIA_CMD_LEG_REMOVE,    /* leg -> EV_LEG_GONE */
	CH_MEDIA_CMD_LEG_START,     /* leg, params, cs (NULL: keep), flag:
	                               re-arm latching */
	CH_MEDIA_CMD_LEG_CODEC,     /* leg, cs */
	CH_MEDIA_CMD_LEG_MUTE,      /* leg, flag: muted */
	CH_MEDIA_CMD_ROOM_PLAY,     /* room, src: replaces the room's clip */
	CH_MEDIA_CMD_ROOM_PAUSE,    /* room, flag: paused */
	CH_MEDIA_CMD_ROOM_GAIN,     /* room, gain (Q14) */
	CH_MEDIA_CMD_ROOM_STOP,     /* room: its clip -> EV_ROOM_PLAY_DONE */
	CH_MEDIA_CMD_LEG_PLAY,      /* leg, src: replaces the leg's prompt */
	CH_MEDIA_CMD_LEG_STOP,      /* leg: its prompt -> EV_LEG_PLAY_DONE */
	CH_MEDIA_CMD_LEG_ISOLATE,   /* leg, flag: isolated */
	CH_MEDIA_CMD_ROOM_RECORD,   /* room, tapref: attach */
	CH_MEDIA_CMD_ROOM_UNRECORD, /* room, flag (voices): that tap ->
	                               EV_TAP_DETACHED */
	CH_MEDIA_CMD_LEG_WEBRTC,    /* leg, wrtc: its transport (wrtc.h) */
	CH_MEDIA_CMD_LEG_SRTP,      /* leg, srtp_rx, srtp_tx: the keys */
};

/* One command. Pointers and states in it are handed to the worker. */
struct ch_media_cmd {
	enum ch_media_cmd_type type;
	struct ch_media_room *room;
	struct ch_media_leg *leg;
	struct ch_codec_state *cs;
	struct ch_media_room_slots *slots;
	struct ch_media_source *src;
	struct ch_media_tapref *tapref;
	struct ch_media_wrtc *wrtc;
	struct srtp *srtp_rx, *srtp_tx;
	enum ch_media_codec codec;
	uint32_t rate;
	int32_t gain; /* Q14 */
	bool flag;
	struct ch_media_legparams params;
};

enum ch_media_ev_type {
	CH_MEDIA_EV_TALK = 0,   /* id, ptr: leg, flag: talking */
	CH_MEDIA_EV_TIMEOUT,    /* id, ptr: leg */
	CH_MEDIA_EV_RESUMED,    /* id, ptr: leg (after EV_TIMEOUT) */
	CH_MEDIA_EV_LEG_GONE,   /* ptr: leg, now owned by the control thread */
	CH_MEDIA_EV_ROOM_GONE,  /* ptr: room, likewise */
	CH_MEDIA_EV_FREE,       /* ptr: a struct ch_codec_state to free */
	CH_MEDIA_EV_FREE_SLOTS, /* ptr: a struct ch_media_room_slots to free */
	/* id: room, flag: finished, ptr: the struct ch_media_source handed
	 * back (its clip to free) */
	CH_MEDIA_EV_ROOM_PLAY_DONE,
	CH_MEDIA_EV_LEG_PLAY_DONE, /* likewise, id: leg */
	/* id: room, ptr: the struct ch_media_tapref the worker let go of */
	CH_MEDIA_EV_TAP_DETACHED,
	CH_MEDIA_EV_DTLS, /* id, ptr: leg: its DTLS inbox holds datagrams */
};

struct ch_media_ev {
	enum ch_media_ev_type type;
	uint32_t id;
	bool flag;
	void *ptr;
};

/*
 * One worker. Allocated, started, stopped and freed by the control
 * thread. Fields marked "worker" are used only on the worker thread while
 * it runs (and by the control thread after it has been joined).
 */
struct ch_media_worker {
	/* set once before the thread starts */
	unsigned idx;
	int epfd, timerfd, cmd_efd, ev_efd;
	int midfd; /* the tick's timer shifted by half a tick */
	/* the legs' RTP/RTCP sockets: not in epfd, read once per tick */
	int rx_epfd;
	uint32_t rtp_timeout_ms;
	struct ch_media_ep ep_cmd, ep_timer, ep_mid;
	struct ch_ring cmds; /* control thread produces, worker consumes */
	struct ch_ring evs;  /* worker produces, control thread consumes */
	pthread_t thread;
	bool running; /* control thread: thread was started */

	/* both threads */
	_Atomic bool stop;         /* control sets, worker exits */
	_Atomic uint64_t ticks;    /* ticks run */
	_Atomic uint64_t overruns; /* timer expirations beyond one */
	_Atomic uint64_t skipped;  /* ticks dropped beyond catch-up */
	/* metrics (engine_metrics.h), written by the worker */
	struct ch_histogram tick_ns;   /* time to run one tick, all rooms */
	struct ch_histogram jitter_us; /* each receiving leg's jitter,
	                                  sampled once a second */
	_Atomic uint64_t ev_ring_full; /* events that found the ring full */
	_Atomic uint64_t tap_drops[2]; /* tap records that did not fit:
	                                  [0] recorder, [1] transcriber */

	/* worker */
	uint64_t now_ms;                 /* monotonic ms of this wake-up */
	unsigned jitter_tick;            /* ticks since the last sample */
	struct ch_media_room *rooms;     /* rooms it runs */
	struct ch_media_leg *leg_acks;   /* EV_LEG_GONE not yet queued */
	struct ch_media_room *room_acks; /* EV_ROOM_GONE not yet queued */
	struct ch_codec_state *frees;    /* EV_FREE not yet queued */
	struct ch_media_room_slots *slot_frees; /* EV_FREE_SLOTS likewise */
	/* EV_*_PLAY_DONE not yet queued, in order (tail: last's next) */
	struct ch_media_source *play_backs, **play_backs_tail;
	struct ch_media_tapref *tap_backs; /* EV_TAP_DETACHED likewise */
	bool ev_queued;                    /* events queued, not signalled */
	struct mmsghdr msgs[CH_MEDIA_RX_BATCH];
	struct iovec iov[CH_MEDIA_RX_BATCH];
	struct sa src[CH_MEDIA_RX_BATCH];
	uint8_t rxbuf[CH_MEDIA_RX_BATCH][CH_RTP_MAX_PACKET];
	/* SCM_TIMESTAMPNS of each packet (kernel receive time, realtime) */
	uint8_t rxctl[CH_MEDIA_RX_BATCH][CH_MEDIA_RX_CTL];
	int64_t rt_off_ns; /* CLOCK_REALTIME - CLOCK_MONOTONIC at this drain */
	/* per-tick scratch of room.c */
	int16_t mix[CH_CODEC_MAX_FRAME];
	int16_t conv[CH_CODEC_MAX_FRAME];
	uint8_t pkt[CH_CODEC_MAX_PAYLOAD];
	uint8_t shared_pl[CH_CODEC_COUNT][CH_CODEC_MAX_PAYLOAD];
	int shared_len[CH_CODEC_COUNT]; /* -1: not encoded this tick */
	/* WebRTC legs (wrtc.c): the STUN integrity context (allocated with
	 * the worker) and the buffer SRTP packets and STUN answers are
	 * built in */
	struct ch_stun_hmac *stun;
	uint8_t sbuf[CH_RTP_MAX_PACKET + 64];
};

/*
 * Control thread. Creates worker idx (eventfds, timerfd, epoll set, rings)
 * and starts its thread. Returns 0 or a negative errno; nothing is left
 * allocated on failure.
 */
int ch_media_worker_alloc(struct ch_media_worker **wp, unsigned idx,
                          uint32_t rtp_timeout_ms);

/* Control thread. Stops and joins the thread; idempotent. Afterwards the
 * control thread owns everything the worker held. */
void ch_media_worker_stop(struct ch_media_worker *w);

/* Control thread. Closes the worker's descriptors and frees it (after
 * ch_media_worker_stop; rooms and legs are the engine's to free). */
void ch_media_worker_free(struct ch_media_worker *w);

/* Control thread. Queues a command and wakes the worker. Returns false
 * if the command ring is full (nothing queued). */
bool ch_media_worker_cmd(struct ch_media_worker *w,
                         const struct ch_media_cmd *cmd);

/* Control thread. Adds / removes a leg socket to / from the worker's
 * epoll set. Returns 0 or a negative errno. */
int ch_media_worker_watch(struct ch_media_worker *w, int fd,
                          struct ch_media_ep *ep);
void ch_media_worker_unwatch(struct ch_media_worker *w, int fd);

/* Worker. Queues an event for the control thread. Returns false if the
 * ring is full. */
bool ch_media_worker_emit(struct ch_media_worker *w,
                          const struct ch_media_ev *ev);

/* Worker. Hands a codec state back to the control thread to be freed. */
void ch_media_worker_release(struct ch_media_worker *w,
                             struct ch_codec_state *cs);

/* Worker. Hands a room clip or leg prompt back to the control thread
 * (EV_ROOM_PLAY_DONE / EV_LEG_PLAY_DONE, in the order handed back, before
 * any later EV_LEG_GONE / EV_ROOM_GONE); finished: it played to its end.
 * NULL-safe. The worker must not touch s afterwards. */
void ch_media_worker_play_back(struct ch_media_worker *w,
                               struct ch_media_source *s, bool finished);

/* Worker. Lets go of a room's tap (EV_TAP_DETACHED, before any later
 * EV_ROOM_GONE); NULL-safe. */
void ch_media_worker_tap_back(struct ch_media_worker *w,
                              struct ch_media_tapref *t);

#endif

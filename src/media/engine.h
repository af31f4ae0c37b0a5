/*
 * engine.h: the media engine: worker threads that own rooms and legs and
 * run the 20 ms mixing loop, and the control-thread API that drives them.
 *
 * Threads: N media workers (default one per core), each with its own
 * epoll set, a 20 ms timerfd, and the rooms assigned to it. A room and its
 * legs are owned by exactly one worker; the hot path (RTP in, jitter
 * buffer, decode, resample, talk detection, mix, shared encode, RTP out,
 * RTCP) takes no lock, allocates nothing and touches no disk.
 *
 * Every function in this header is called on the control thread only.
 * Commands reach a worker through a single-producer/single-consumer ring
 * and an eventfd; events come back the same way and are delivered to the
 * handlers below on the control thread (the libre main loop).
 *
 * Ids: rooms and legs are named by small integers chosen by the engine
 * (never 0). An id is not reused before the worker has let go of the old
 * object, and events already queued for a freed leg are dropped: once
 * ch_media_leg_free() has returned no handler is called for that leg.
 * Errors: 0 or an errno value (ENOSPC: no free RTP port or slot; EXFULL:
 * the room is full; ENOENT: unknown id; EINVAL: bad parameter; ENOTSUP:
 * codec not available).
 *
 * Media: every leg sends and expects 20 ms packets (ptime 20). Codecs:
 * PCMU, PCMA, G.722 (64 kbit/s, through spandsp) and Opus (mono).
 * Internals: engine.c (control side), worker.h (threads and queues),
 * room.c (mixing), leg.c (RTP/RTCP per leg), codec.c, rtp.c, rtcp.c.
 */
#ifndef CH_MEDIA_ENGINE_H
#define CH_MEDIA_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sa;
struct ch_media_engine;
struct ch_media_tap;
struct ch_pcm;

enum ch_media_codec {
	CH_CODEC_PCMU = 0, /* 8 kHz, PT 0 */
	CH_CODEC_PCMA,     /* 8 kHz, PT 8 */
	CH_CODEC_G722,     /* 16 kHz audio, 8 kHz RTP clock, PT 9 */
	CH_CODEC_OPUS,     /* 48 kHz, dynamic PT, "opus/48000/2" */
	CH_CODEC_COUNT
};

/* What a leg sends and receives (SDP direction from the room's side). */
enum ch_media_dir {
	CH_DIR_SENDRECV = 0,
	CH_DIR_SENDONLY, /* room sends, does not take the leg's audio */
	CH_DIR_RECVONLY, /* room takes audio, sends nothing */
	CH_DIR_INACTIVE,
};

/* Negotiated media of one leg (from SDP offer/answer). */
struct ch_media_leg_params {
	enum ch_media_codec codec;
	uint8_t pt;   /* payload type of codec */
	int telev_pt; /* telephone-event PT, -1 if none */
	enum ch_media_dir dir;
	struct sa *remote; /* remote RTP address (borrowed; copied) */
	/* where the SIP dialog's last request or answer came from (borrowed;
	 * copied; NULL: unknown): RTP from another address than remote is
	 * learned only from this IP or remote's (see ch_media_leg_start) */
	const struct sa *sig_src;
	bool rtcp_mux;
};

/* A snapshot of one leg's counters (read without locks: each counter is
 * written by its worker with relaxed atomics). */
struct ch_media_leg_stats {
	enum ch_media_codec codec;
	uint64_t packets_in, packets_out;
	uint64_t lost;    /* by sequence gaps, RFC 3550 style */
	double jitter_ms; /* RFC 3550 interarrival jitter */
	int level;        /* 0..100, last frame's loudness */
	bool talking;
	uint64_t last_rx_ms; /* monotonic ms of the last RTP packet, 0 none */
	/* RTP and RTCP packets dropped by the source filter: strangers, and
	 * a NAT'ed phone's packets while it is on probation */
	uint64_t packets_rejected;
	/* What the far end reports about our stream in RTCP (0 until its
	 * first report block about us). */
	uint64_t remote_lost;        /* cumulative packets lost */
	double remote_fraction_lost; /* 0..1, over its last interval */
	double remote_jitter_ms;
	double rtt_ms;           /* from its LSR/DLSR; -1 unknown */
	uint64_t remote_reports; /* its report blocks about us so far */
	/* The jitter buffer: frames concealed (a packet lost, or not there
	 * at its tick), packets dropped for coming after their playout, and
	 * its target delay now. */
	uint64_t concealed, late;
	unsigned jb_target_ms;
};

/* Events, delivered on the control thread from the libre main loop. A
 * handler may call any function here except ch_media_engine_free. */
struct ch_media_handlers {
	/* talk detection changed for a leg (also while it is muted, so the
	 * application can tell a muted talker) */
	void (*talking)(void *arg, uint32_t leg, bool talking);
	/* no RTP from the leg for rtp_timeout_ms (reported once per silence
	 * stretch; a new packet re-arms it) */
	void (*rtp_timeout)(void *arg, uint32_t leg);
	/* after rtp_timeout: RTP from the leg again, or the leg restarted
	 * (ch_media_leg_start), which begins a new timeout count */
	void (*rtp_resumed)(void *arg, uint32_t leg);
	/* a room's playback (ch_media_room_play) ended: finished true when
	 * it played to its end, false when stopped or replaced; the engine
	 * has freed its clip. May be NULL. */
	void (*room_play_done)(void *arg, uint32_t room, uint32_t play_id,
	                       bool finished);
	/* likewise for a leg's own prompt (ch_media_leg_play); also called
	 * (finished false) when the leg is freed while its prompt plays */
	void (*leg_play_done)(void *arg, uint32_t leg, uint32_t play_id,
	                      bool finished);
	/* the worker has let go of a recorder tap (ch_media_room_record_stop
	 * or the room destroyed): the recorder may drain and free it. May be
	 * NULL. */
	void (*tap_detached)(void *arg, uint32_t room,
	                     struct ch_media_tap *tap);
	/* a WebRTC leg's DTLS datagrams are waiting: read them with
	 * ch_media_leg_dtls_read. May be NULL. */
	void (*dtls)(void *arg, uint32_t leg);
};

/* How the engine's Opus encoders work. Copied by whoever keeps it. */
struct ch_codec_opus {
	int complexity; /* 0..10 */
	/* true: OPUS_APPLICATION_RESTRICTED_LOWDELAY (CELT only: about 2.3 x
	 * cheaper per frame at 16 kHz than SILK, 4 ms less algorithmic delay,
	 * no in-band FEC); false: OPUS_APPLICATION_VOIP (SILK or hybrid, with
	 * in-band FEC for 5 % loss) */
	bool lowdelay;
};

struct ch_media_config {
	unsigned workers;        /* 0: one per core */
	uint16_t rtp_lo, rtp_hi; /* RTP port range (even ports used) */
	const char *bind_ip;     /* local address for RTP sockets (copied;
	                            NULL: "0.0.0.0") */
	unsigned rtp_timeout_ms; /* 0: default 10000 */
	/* Opus encoders' settings (copied). NULL: ch_codec_opus_default
	 * (codec.h: complexity 5, low delay) */
	const struct ch_codec_opus *opus;
};

/* Starts the workers. h (copied) and arg receive events. Call on the
 * thread that runs the libre main loop (events arrive through fd_listen).
 * Worker threads are named "ch-media-<n>". */
int ch_media_engine_alloc(struct ch_media_engine **engp,
                          const struct ch_media_config *cfg,
                          const struct ch_media_handlers *h, void *arg);
/* Stops and joins the workers, closes every socket, frees every room and
 * leg still there; NULL-safe. No handler is called from here on. */
void ch_media_engine_free(struct ch_media_engine *eng);

/* Creates a room on the least loaded worker (most legs:
 * CH_MEDIA_ROOM_MAX_LEGS until ch_media_room_set_max). */
int ch_media_room_create(struct ch_media_engine *eng, uint32_t *room);
/* Destroys a room and every leg still in it (their ids become invalid at
 * once; memory is freed when the worker has let go). Unknown ids are
 * ignored. */
void ch_media_room_destroy(struct ch_media_engine *eng, uint32_t room);

/* The engine limit: most legs in one room. A room's leg arrays are
 * allocated on the control thread and grow (doubling) up to its maximum
 * as legs arrive; mixing costs O(legs) per tick. */
#define CH_MEDIA_ROOM_MAX_LEGS 1024

/* Sets the most legs room takes (a conference's max_participants): 0 or
 * above CH_MEDIA_ROOM_MAX_LEGS means CH_MEDIA_ROOM_MAX_LEGS, the default
 * of a new room. Lowering it below the legs present removes none; it
 * refuses new ones. ENOENT: unknown room. */
int ch_media_room_set_max(struct ch_media_engine *eng, uint32_t room,
                          unsigned max_legs);

/* The highest rate room mixes at (8000, 16000 or 48000; a new room:
 * 48000): its mixing rate is the highest any started leg asks under it
 * (ch_codec_room_rate), and Opus legs decode and encode at that rate.
 * A change applies at once to the legs there. EINVAL: another rate;
 * ENOENT: unknown room; ENOMEM: nothing changed. */
int ch_media_room_set_max_rate(struct ch_media_engine *eng, uint32_t room,
                               uint32_t max_rate);

/* Reserves an RTP (+RTCP) port pair and binds it, so the caller can write
 * the local address into SDP before media starts; *local gets it. The
 * leg hears and is heard in room only after ch_media_leg_start. ENOSPC:
 * no free port pair; EXFULL: the room has its most legs
 * (ch_media_room_set_max); ENOMEM. */
int ch_media_leg_alloc(struct ch_media_engine *eng, uint32_t room,
                       uint32_t *leg, struct sa *local);
/* In-sequence packets a source other than the SDP address must send
 * before the leg latches to it (as Asterisk's strict RTP probation). */
#define CH_MEDIA_LATCH_PROBATION 4

/*
 * Sets the negotiated media and starts the leg (again on a re-INVITE:
 * new remote address, direction or codec). Strict symmetric RTP:
 *   - packets from exactly p->remote (ip:port) are always taken and lock
 *     the leg to it, even if another source was learned before;
 *   - while nothing has come from p->remote, another source (a phone
 *     behind NAT) is learned only if its IP is p->sig_src's or
 *     p->remote's, and only after CH_MEDIA_LATCH_PROBATION packets in
 *     sequence (one SSRC, consecutive sequence numbers, payload type
 *     p->pt), the packets before the last of them dropped. A learned
 *     source is kept until p->remote itself sends;
 *   - every other packet is dropped and counted (packets_rejected);
 *   - RTCP is taken only from the IP of the latched RTP source (before
 *     latching: p->remote's IP).
 * The leg sends to the latched source, else to p->remote. A call with a
 * different p->remote re-arms latching; the same p->remote keeps the
 * lock. Every call restarts the RTP timeout count. EINVAL: bad params;
 * ENOTSUP: codec; ENOMEM.
 */
int ch_media_leg_start(struct ch_media_engine *eng, uint32_t leg,
                       const struct ch_media_leg_params *p);
/* Muted: the leg still hears the room, the room stops hearing it. */
int ch_media_leg_mute(struct ch_media_engine *eng, uint32_t leg, bool muted);
/* Removes the leg from its room and closes its sockets (when the worker
 * has let go; the port pair is reusable from then on). Unknown ids are
 * ignored. */
void ch_media_leg_free(struct ch_media_engine *eng, uint32_t leg);
/* Fills *out with a snapshot of the leg's counters; ENOENT if unknown. */
int ch_media_leg_stats(struct ch_media_engine *eng, uint32_t leg,
                       struct ch_media_leg_stats *out);

/*
 * WebRTC legs (engine_webrtc.c; the worker's side is wrtc.c). After
 * ch_media_leg_alloc and before ch_media_leg_start, ch_media_leg_webrtc
 * makes the leg's socket an ICE-lite + DTLS-SRTP transport (RFC 7983
 * demultiplexing): the worker answers STUN Binding requests whose
 * USERNAME starts with ufrag and whose MESSAGE-INTEGRITY is keyed by pwd
 * (both copied; ice-chars, 4..256 and 22..256 long), takes the source of
 * the last valid check (the first, or a nomination) as the peer, drops
 * every other packet from anyone else (packets_rejected), hands the peer's
 * DTLS datagrams to the control thread (handler dtls) and sends nothing
 * until ch_media_leg_srtp has installed the keys, then SRTP-protects all
 * it sends and checks all it takes. No valid check for 30 s (RFC 7675
 * consent) and it stops sending. The p->remote of ch_media_leg_start is
 * ignored for such a leg (unset is fine). EINVAL, ENOENT, EALREADY.
 */
int ch_media_leg_webrtc(struct ch_media_engine *eng, uint32_t leg,
                        const char *ufrag, const char *pwd);
/* The keys from the DTLS handshake (RFC 5764): SRTP_AES128_CM_SHA1_80
 * (suite as libre's enum srtp_suite), rx_key the peer's master key+salt,
 * tx_key ours (30 bytes each). Once per leg: EALREADY after. */
int ch_media_leg_srtp(struct ch_media_engine *eng, uint32_t leg, int suite,
                      const uint8_t *rx_key, const uint8_t *tx_key,
                      size_t key_len);
/* Takes the next waiting DTLS datagram of the leg into buf (cap bytes)
 * and its source into *src; returns its length, 0 when none waits. */
size_t ch_media_leg_dtls_read(struct ch_media_engine *eng, uint32_t leg,
                              uint8_t *buf, size_t cap, struct sa *src);
/* Sends one datagram (DTLS) from the leg's socket to dst. 0 or errno. */
int ch_media_leg_sendto(struct ch_media_engine *eng, uint32_t leg,
                        const uint8_t *buf, size_t len, const struct sa *dst);
/* True once a valid ICE check chose the leg's peer (a relaxed read of
 * the worker's flag, for stats and tests). */
bool ch_media_leg_ice_selected(struct ch_media_engine *eng, uint32_t leg);

/*
 * Playback into a room, heard by every leg (talkers included) and by the
 * recorder tap: one clip at a time, from its first frame, scaled by
 * gain_db (-50..+7; clamped). A new play replaces the one playing (that
 * one ends with room_play_done finished=false). The engine owns pcm from
 * the call on (also on error) and frees it on the control thread once the
 * worker has let go. A paused clip holds its place and is silent.
 * ENOENT: unknown room; ENOMEM.
 */
int ch_media_room_play(struct ch_media_engine *eng, uint32_t room,
                       uint32_t play_id, struct ch_pcm *pcm, int gain_db);
int ch_media_room_play_pause(struct ch_media_engine *eng, uint32_t room,
                             bool paused);
int ch_media_room_play_gain(struct ch_media_engine *eng, uint32_t room,
                            int gain_db);
/* Stops the room's clip (room_play_done finished=false); nothing if
 * none plays. */
int ch_media_room_play_stop(struct ch_media_engine *eng, uint32_t room);

/*
 * A prompt heard by one leg alone, added to what it hears from the room
 * (or alone while the leg is isolated); the room does not hear it and it
 * is not recorded. Replaces a prompt playing (leg_play_done
 * finished=false for that one). Ownership of pcm as ch_media_room_play.
 * ENOENT: unknown leg.
 */
int ch_media_leg_play(struct ch_media_engine *eng, uint32_t leg,
                      uint32_t play_id, struct ch_pcm *pcm);
int ch_media_leg_play_stop(struct ch_media_engine *eng, uint32_t leg);
/* Isolated (a participant joining, or leaving through its post
 * actions): the room does not hear the leg and the leg hears nothing of
 * the room, only its own prompts. Legs start not isolated. */
int ch_media_leg_isolate(struct ch_media_engine *eng, uint32_t leg,
                         bool isolated);

/*
 * Attaches a recorder tap (media/tap.h) to the room: from the next tick
 * the worker writes one record per tick into it (the full mix and, when
 * tap->tracks, each contributing leg's audio at the room rate). One tap
 * per room (EBUSY if one is attached). The tap stays the caller's; the
 * worker writes into it until tap_detached is reported, after
 * ch_media_room_record_stop() or when the room is destroyed.
 */
int ch_media_room_record(struct ch_media_engine *eng, uint32_t room,
                         struct ch_media_tap *tap);
int ch_media_room_record_stop(struct ch_media_engine *eng, uint32_t room);
/* The same for the transcriber tap (tap->voices set before
 * ch_media_room_record: each participant's own decoded audio, see
 * media/tap.h); one of each kind per room. */
int ch_media_room_voices_stop(struct ch_media_engine *eng, uint32_t room);

/* Counters of the workers' 20 ms loops, summed over all workers. */
struct ch_media_engine_stats {
	unsigned workers;
	uint64_t ticks;    /* ticks run */
	uint64_t overruns; /* timer expirations missed (run late, caught up) */
	uint64_t skipped;  /* ticks dropped after a stall beyond catch-up */
};

/* Fills *out (read without locks, like the leg counters). */
void ch_media_engine_stats(struct ch_media_engine *eng,
                           struct ch_media_engine_stats *out);

/* Codec names as in SDP rtpmap ("PCMU", "PCMA", "G722", "opus"). */
const char *ch_media_codec_name(enum ch_media_codec c);

#endif

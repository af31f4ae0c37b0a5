/*
 * sip_int.h: private to sip/: the UA, the call object and the SDP
 * helpers shared by sip/'s files.
 */
#ifndef CH_SIP_INT_H
#define CH_SIP_INT_H

#include <re_types.h>
#include <re_fmt.h>
#include <re_mem.h>
#include <re_mbuf.h>
#include <re_list.h>
#include <re_hash.h>
#include <re_sa.h>
#include <re_tmr.h>
#include <re_uri.h>
#include <re_msg.h>
#include <re_sip.h>
#include <re_sipsess.h>
#include <re_sdp.h>
#include <re_dns.h>

#include "media/engine.h"
#include "store/records.h"
#include "sip/sip.h"
#include "util/uuid.h"

/* The UA. Owned by the daemon; control thread only. */
struct ch_sip {
	struct ch_core *core;
	ch_sip_owner_h *owner_h; /* the cluster's, NULL: one node */
	void *owner_arg;
	struct ch_media_engine *eng;
	struct sip *sip;
	struct dnsc *dnsc;
	struct sipsess_sock *sock;
	struct sip_lsnr *lsnr;
	struct sa laddr;      /* bound SIP address */
	struct sa media_addr; /* address for SDP c= lines */
	unsigned dial_timeout_s;
	unsigned ack_timeout_s;      /* answered dial-in waits this for ACK */
	unsigned unconfirmed_per_ip; /* un-ACKed dial-ins per source IP */
	struct sip_lsnr *guard;      /* first look at every request */
	struct list calls;           /* struct ch_sip_call */
	/* the same calls by id (those that have one) and by leg (those
	 * that hold one), and the answered dial-ins still waiting for their
	 * ACK: lookups and the per-address bound cost O(1), not a walk of
	 * every call */
	struct hash *calls_by_id;
	struct hash *calls_by_leg;
	struct list unconfirmed;
	struct hash *rooms; /* struct ch_sip_room, by conference id */
	bool closing;
	/* services (borrowed; NULL: playback / recording refused) */
	struct ch_player *player;
	struct ch_recorder *recorder;
	struct list recs; /* struct ch_sip_rec: taps attached or draining */
	struct ch_transcriber *transcriber; /* NULL: transcription refused */
	struct list stts; /* struct ch_sip_stt (bridge_stt.c) */
	struct list jobs; /* struct ch_sip_job: player jobs in flight */
	/* WebRTC (sip_webrtc.c): the DTLS certificate, made at start-up
	 * (owned; NULL: browsers cannot join), and its SHA-256 */
	struct tls *webrtc_tls;
	uint8_t webrtc_fp[32];
};

/* A recording whose tap a room holds (or held until tap_detached).
 * Owned by sip->recs; control thread only. */
struct ch_sip_rec {
	struct le le;
	char id[CH_UUID_LEN];            /* the recording */
	char conference_id[CH_UUID_LEN]; /* its room's conference */
	struct ch_media_tap *tap;        /* the recorder's */
	bool stopping;                   /* record_stop asked */
};

struct ch_core_media_ops;
struct ch_core_webrtc_answer;
struct ch_webrtc_dtls;
struct tls;

/* A conference's mixing room. Owned by sip->rooms. */
struct ch_sip_room {
	struct le he;
	char conference_id[CH_UUID_LEN];
	uint32_t room;
	/* room playback (bridge_media.c) */
	uint64_t play_op;  /* the core's op playing or being fetched, 0 */
	uint64_t play_job; /* its player job while fetching, 0 */
	bool play_paused;
	int play_gain;
};

/* One SIP call and its media leg. Owned by sip->calls (libre mem object);
 * control thread only. */
struct ch_sip_call {
	struct le le;
	struct le id_he;  /* in sip->calls_by_id once id is set */
	struct le leg_he; /* in sip->calls_by_leg while has_leg */
	struct le unc_le; /* in sip->unconfirmed: answered, no ACK yet */
	struct ch_sip *sip;
	struct sipsess *sess;
	struct sdp_session *sdp;
	struct sdp_media *sdpm;
	struct tmr tmr; /* dial-out ring timeout */
	uint32_t leg;
	bool has_leg;
	bool outgoing;
	bool answered;   /* 200 OK sent or received */
	bool confirmed;  /* dial-in: its ACK came */
	struct sa peer;  /* dial-in: where the INVITE came from */
	bool media_down; /* RTP timed out */
	bool ended;
	char id[CH_UUID_LEN]; /* the call resource */
	char conference_id[CH_UUID_LEN];
	char conferencecall_id[CH_UUID_LEN];
	char codec[16];
	/* where the dialog's last offer or answer came from (strict RTP
	 * learns a NAT'ed phone's media only from this IP) */
	struct sa sig_src;
	/* its own prompt (bridge_media.c) */
	uint64_t prompt_op;  /* the core's op playing or fetched, 0 */
	uint64_t prompt_job; /* its player job while fetching, 0 */
	/* a WebRTC participant's DTLS server (sip_webrtc.c; owned, freed
	 * before the leg); such a call has no SIP session */
	struct ch_webrtc_dtls *dtls;
};

/* sdp_neg.c */
/* Creates an SDP session offering/accepting our codecs on media port. */
int ch_sip_sdp_alloc(struct sdp_session **sessp, struct sdp_media **mp,
                     const struct sa *laddr);
/* From a decoded remote description: the codec to use and the leg
 * parameters (remote is filled into *remote); sets or drops our
 * a=rtcp-mux to match the remote's. Returns 0 or ENOENT when no
 * codec we take is offered (-> 488). */
int ch_sip_sdp_choose(struct sdp_media *m, struct ch_media_leg_params *p,
                      struct sa *remote);

/* Checks a remote description's raw text before it is decoded: v=0
 * first, at least one m= line, every
 * c= a unicast IPv4/IPv6 address that parses (0.0.0.0 is hold and
 * passes), an audio m= port 1-65535 (others 0-65535), a=rtcp ports
 * 1-65535. Returns 0, or EPROTO with *why (if why) saying what is wrong
 * (-> 488). mb is read from its position, not moved. */
int ch_sip_sdp_check(const struct mbuf *mb, const char **why);

/* sip_call.c */
/* peer and via (either may be NULL): the far end and the local address
 * its request came in on, to pick our SDP address when SIP is bound to a
 * wildcard address without --public-ip (ch_sip_local_addr). */
int ch_sip_call_alloc(struct ch_sip_call **cp, struct ch_sip *sip,
                      const char *conference_id, const struct sa *peer,
                      const struct sa *via);
struct ch_sip_call *ch_sip_call_find(struct ch_sip *sip, const char *call_id);
/* Sets c's call id (the call resource) and files it by that id. */
void ch_sip_call_set_id(struct ch_sip_call *c, const char *id);
struct ch_sip_call *ch_sip_call_by_leg(struct ch_sip *sip, uint32_t leg);
/* Applies a (re-)negotiated remote description to the media leg. */
int ch_sip_call_media_update(struct ch_sip_call *c);
/* Ends the call: BYE/CANCEL if needed, frees the leg, reports to core. */
void ch_sip_call_end(struct ch_sip_call *c, const char *reason,
                     const char *leave_reason);
/* sip_sockbuf.c: asks for a receive buffer of bytes on every UDP socket
 * of this process bound to laddr (the SIP transports); logs what it got.
 * Returns how many sockets it found. Control thread, start-up. */
unsigned ch_sip_sockbuf_grow(const struct sa *laddr, int bytes);
void ch_sip_call_incoming(struct ch_sip *sip, const struct sip_msg *msg);
/* Whether conference conf has its max_participants present. */
bool ch_sip_conference_full(struct ch_sip *sip,
                            const struct ch_conference *conf);
/* sip_webrtc.c: the webrtc_offer op of the media layer (a browser joins);
 * the DTLS certificate, made at start-up (init: logs when it cannot, and
 * offers then answer ENOSYS) and freed at close. */
int ch_sip_webrtc_offer(void *arg, const struct ch_conference *conf,
                        const char *sdp, size_t len, const char *caller,
                        struct ch_core_webrtc_answer *out, const char **why);
void ch_sip_webrtc_init(struct ch_sip *sip);
void ch_sip_webrtc_close(struct ch_sip *sip);
int ch_sip_call_dial(struct ch_sip *sip, const struct ch_call *call);

/* sip_ua.c */
/* The address to write in SDP towards peer: --public-ip or the bound
 * address; when that is a wildcard (0.0.0.0), via (the local address the
 * request came in on, when there is one), else the address the kernel
 * routes to peer from, else the default route's. Port 0. */
void ch_sip_local_addr(const struct ch_sip *sip, const struct sa *peer,
                       const struct sa *via, struct sa *out);

/* bridge.c */
int ch_sip_room_of(struct ch_sip *sip, const char *conference_id,
                   uint32_t *room);
void ch_sip_bridge_attach(struct ch_sip *sip);
void ch_sip_bridge_close(struct ch_sip *sip);
struct ch_sip_room *ch_sip_room_find(struct ch_sip *sip, const char *id);

/* bridge_media.c: the playback, prompt and recording ops of the media
 * layer; cleanup of a room or call going away. */
void ch_sip_media_ops(struct ch_core_media_ops *ops);
void ch_sip_media_room_gone(struct ch_sip *sip, struct ch_sip_room *r);
void ch_sip_media_call_gone(struct ch_sip *sip, struct ch_sip_call *c);
void ch_sip_media_close(struct ch_sip *sip);
struct ch_sip_call *ch_sip_media_call_of(struct ch_sip *sip,
                                         const struct ch_conferencecall *cc);

/* bridge_stt.c: the transcription ops of the media layer (a transcriber
 * tap on the engine room) and their cleanup. tap_detached: true if tap
 * was a transcription's. */
void ch_sip_stt_ops(struct ch_core_media_ops *ops);
bool ch_sip_stt_tap_detached(struct ch_sip *sip, struct ch_media_tap *tap);
void ch_sip_stt_room_gone(struct ch_sip *sip, const char *conference_id);
void ch_sip_stt_close(struct ch_sip *sip);

#endif

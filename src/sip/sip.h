/*
 * sip.h: the SIP user agent of Chorus (libre sip + sipsess over UDP and
 * TCP): dial-in (INVITE sip:{conference_id}@host joins that conference),
 * dial-out (POST /calls), and the bridge that gives the core its media
 * layer (rooms, legs, hang-up, mute) on top of the media engine.
 *
 * Threading: control thread only.
 */
#ifndef CH_SIP_H
#define CH_SIP_H

#include <stdbool.h>
#include <stdint.h>

struct sa;
struct ch_core;
struct ch_media_engine;
struct ch_sip;
struct ch_player;
struct ch_recorder;
struct ch_transcriber;
struct ch_transcriber_seg;
struct ch_transcriber_done;
struct ch_media_tap;
struct ch_pcm;

struct ch_sip_config {
	const struct sa *laddr;  /* SIP listen address (UDP and TCP) */
	const char *public_ip;   /* address written in SDP/Contact, or NULL */
	unsigned dial_timeout_s; /* default ring time of a dial-out */
	unsigned ack_timeout_s;  /* answered dial-in without ACK: end it */
	unsigned unconfirmed_per_ip;  /* un-ACKed dial-ins per source IP */
	struct ch_player *player;     /* playback and prompts (borrowed) */
	struct ch_recorder *recorder; /* recordings (borrowed) */
	struct ch_transcriber *transcriber; /* transcription (borrowed) */
};

/* Starts SIP on cfg->laddr and attaches itself to the core as its media
 * layer (ch_core_set_media). eng is borrowed. Returns 0, EADDRINUSE or
 * another errno. */
int ch_sip_alloc(struct ch_sip **sp, struct ch_core *core,
                 struct ch_media_engine *eng, const struct ch_sip_config *cfg);
/* A cluster (cluster/cluster.h): who answers a dial-in to a conference
 * another node mixes. h returns 0 with that node's SIP URI
 * ("sip:host:port") in uri: the INVITE is answered 302 with a Contact
 * there; EHOSTDOWN: its node is dead (503); anything else: this node
 * takes it. NULL h: one node (the default). */
typedef int(ch_sip_owner_h)(void *arg, const char *conference_id, char *uri,
                            size_t size);
void ch_sip_owner_set(struct ch_sip *s, ch_sip_owner_h *h, void *arg);
/* Hangs up every call (BYE), stops SIP and frees; NULL-safe. */
void ch_sip_free(struct ch_sip *s);
/* Hangs every call up (BYE/CANCEL) and refuses new ones; for a graceful
 * shutdown, run the loop a moment afterwards so the requests leave. */
void ch_sip_hangup_all(struct ch_sip *s);
/* Media engine events for a leg (wired by the daemon). */
void ch_sip_talking(struct ch_sip *s, uint32_t leg, bool talking);
void ch_sip_rtp_timeout(struct ch_sip *s, uint32_t leg);
void ch_sip_rtp_resumed(struct ch_sip *s, uint32_t leg);
/* DTLS datagrams wait in a WebRTC leg's inbox (sip_webrtc.c). */
void ch_sip_dtls(struct ch_sip *s, uint32_t leg);
/* Engine and service reports (wired by the daemon). */
void ch_sip_room_play_done(struct ch_sip *s, uint32_t room, uint32_t play_id,
                           bool finished);
void ch_sip_leg_play_done(struct ch_sip *s, uint32_t leg, uint32_t play_id,
                          bool finished);
void ch_sip_tap_detached(struct ch_sip *s, uint32_t room,
                         struct ch_media_tap *tap);
void ch_sip_player_done(struct ch_sip *s, uint64_t job, int err,
                        const char *why, struct ch_pcm *pcm);
/* Transcriber reports (wired by the daemon): a segment is handed to the
 * core with the participant that spoke; done ends the transcription. */
void ch_sip_transcript(struct ch_sip *s, const struct ch_transcriber_seg *g);
void ch_sip_transcribe_done(struct ch_sip *s,
                            const struct ch_transcriber_done *d);
/* The bound SIP address (UDP). */
int ch_sip_local(const struct ch_sip *s, struct sa *out);

#endif

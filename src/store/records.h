/*
 * records.h: the stored resources (customer, conference, conferencecall,
 * event) as plain C records shared by core, api, events and store.
 *
 * Ownership: a record owns its heap strings (char * fields); release them
 * with the matching *_clear() function. Fixed arrays hold ids and short
 * enums. Records are values: whoever holds one owns it, and they are used
 * only by the control thread.
 */
#ifndef CH_STORE_RECORDS_H
#define CH_STORE_RECORDS_H

#include <stdbool.h>
#include <stdint.h>

#include "util/token.h"
#include "util/uuid.h"

#define CH_NAME_MAX 1024 /* name and detail limit, bytes */

struct ch_customer {
	char id[CH_UUID_LEN];
	char name[256];
	/* hex SHA-256 of the API token (util/token.h); the token itself is
	 * never stored */
	char token_hash[CH_TOKEN_HASH_LEN];
	char webhook_uri[1025];
	char webhook_secret[65];
	int64_t tm_create;
};

enum ch_conference_type {
	CH_CONFERENCE_TYPE_CONFERENCE = 0,
	CH_CONFERENCE_TYPE_CONNECT,
};

/* Statuses only move forward (enum order). */
enum ch_conference_status {
	CH_CONFERENCE_STARTING = 0,
	CH_CONFERENCE_PROGRESSING,
	CH_CONFERENCE_TERMINATING,
	CH_CONFERENCE_TERMINATED,
};

struct ch_conference {
	char id[CH_UUID_LEN];
	char customer_id[CH_UUID_LEN];
	enum ch_conference_type type;
	enum ch_conference_status status;
	char *name;         /* owned, never NULL after load/create */
	char *detail;       /* owned */
	char *data;         /* owned JSON object text */
	int64_t timeout;    /* seconds, 0 = none */
	char *pre_actions;  /* owned JSON array text */
	char *post_actions; /* owned JSON array text */
	char recording_id[CH_UUID_LEN];
	char *recording_ids; /* owned JSON array text */
	char transcribe_id[CH_UUID_LEN];
	char *transcribe_ids; /* owned JSON array text */
	char playback_status[16];
	int playback_volume;
	int max_participants;
	int max_sample_rate; /* Hz the room mixes at most: 8000|16000|48000 */
	char end_reason[64]; /* summary end_reason, "" while live */
	char ended_by[CH_UUID_LEN];
	int64_t tm_create, tm_update, tm_delete; /* us since epoch */
};

enum ch_conferencecall_status {
	CH_CONFERENCECALL_JOINING = 0,
	CH_CONFERENCECALL_JOINED,
	CH_CONFERENCECALL_LEAVING,
	CH_CONFERENCECALL_LEAVED,
};

struct ch_conferencecall {
	char id[CH_UUID_LEN];
	char customer_id[CH_UUID_LEN];
	char conference_id[CH_UUID_LEN];
	char reference_type[16];
	char reference_id[CH_UUID_LEN];
	enum ch_conferencecall_status status;
	bool muted;
	char caller_id[256];
	char leave_reason[16]; /* hangup|removed|orphan, "" while in */
	bool end_conference_on_exit;
	int64_t tm_create, tm_update, tm_delete;
	/* the last quality (core/quality.h JSON), stored when it left; ""
	 * until then */
	char quality[1024];
};

enum ch_call_status {
	CH_CALL_DIALING = 0,
	CH_CALL_RINGING,
	CH_CALL_PROGRESSING,
	CH_CALL_TERMINATING,
	CH_CALL_HANGUP,
};

/* One leg of media: a SIP (or later WebRTC) call. */
struct ch_call {
	char id[CH_UUID_LEN];
	char customer_id[CH_UUID_LEN];
	char direction[16]; /* incoming|outgoing */
	char *source;       /* owned JSON object text {"type","target"} */
	char *destination;  /* owned JSON object text {"type","target"} */
	char transport[16]; /* sip|webrtc */
	char codec[16];     /* negotiated codec name, "" before */
	enum ch_call_status status;
	char hangup_reason[16];              /* "" while up */
	char conference_id[CH_UUID_LEN];     /* conference joined or nil */
	char conferencecall_id[CH_UUID_LEN]; /* participant or nil */
	char sip_call_id[128];
	int64_t tm_create, tm_update, tm_delete;
};

void ch_call_clear(struct ch_call *c);
const char *ch_call_status_str(enum ch_call_status s);
int ch_call_status_parse(const char *s, enum ch_call_status *st);

/* A recording of a conference (reference_type "conference"). The file
 * is <recordings dir>/<id>.<format> once status is "stopped". */
struct ch_recording {
	char id[CH_UUID_LEN];
	char customer_id[CH_UUID_LEN];
	char reference_type[16];        /* "conference" */
	char reference_id[CH_UUID_LEN]; /* the conference */
	char status[16];                /* recording|stopped */
	char format[8];                 /* wav|flac|ogg */
	bool tracks;                    /* a channel per participant */
	int64_t duration_ms;            /* 0 until stopped */
	char *channels;                 /* owned JSON array text, "[]" */
	uint32_t rate;                  /* sample rate of the file, 0 before */
	int64_t size;                   /* file bytes, 0 until stopped */
	int64_t tm_start, tm_end;       /* us; tm_end 0 while recording */
	int64_t tm_create, tm_update, tm_delete; /* tm_delete: deleted */
};

void ch_recording_clear(struct ch_recording *r);

/* A transcription of a conference (reference_type "conference"), API.md
 * "transcribe". One is progressing per conference at most. */
struct ch_transcribe {
	char id[CH_UUID_LEN];
	char customer_id[CH_UUID_LEN];
	char reference_type[16];        /* "conference" */
	char reference_id[CH_UUID_LEN]; /* the conference */
	char language[24];              /* BCP-47 tag as asked, e.g. en-US */
	char engine[16];                /* sphinx|http */
	char status[16];                /* progressing|done */
	int64_t segments;               /* transcripts stored so far */
	int64_t dropped_ms;             /* audio the recogniser never got */
	int64_t tm_start, tm_end;       /* us; tm_end 0 while progressing */
	int64_t tm_create, tm_update, tm_delete;
};

/* One recognised segment of one participant, API.md "transcript".
 * tm_start_ms / tm_end_ms are relative to the transcribe's tm_start. */
struct ch_transcript {
	char id[CH_UUID_LEN];
	char customer_id[CH_UUID_LEN];
	char transcribe_id[CH_UUID_LEN];
	char conferencecall_id[CH_UUID_LEN]; /* who spoke; nil if unknown */
	char *caller_id;                     /* owned; "" if unknown */
	char *text;                          /* owned, UTF-8 */
	int64_t tm_start_ms, tm_end_ms;
	int64_t tm_create; /* us */
};

/* Free the owned strings and zero the record. NULL-safe. */
void ch_transcript_clear(struct ch_transcript *t);

/* A conference's summary (API.md "summary: insights"), kept up to date
 * by core/summary.c in the transaction of each change. Times are us
 * since the epoch, CH_TIME_NEVER_US for "not yet". */
struct ch_summary {
	char conference_id[CH_UUID_LEN];
	char customer_id[CH_UUID_LEN];
	char *name;                 /* owned */
	int64_t create_time;        /* the conference's tm_create */
	int64_t start_time;         /* two participants first joined */
	int64_t end_time;           /* terminated */
	char status[16];            /* not_started|in_progress|completed */
	char processing_state[16];  /* in_progress|complete */
	char end_reason[64];        /* "" while live */
	char ended_by[CH_UUID_LEN]; /* conferencecall, or nil */
	int max_participants;       /* the conference's setting */
	int max_concurrent;         /* most joined at once */
	int unique_participants;    /* distinct caller ids */
	bool recording_enabled;     /* a recording was ever started */
	char mixer_region[64];      /* the node that mixed it */
	char *joined_ids; /* owned JSON array text: participants joined now */
	char *caller_ids; /* owned JSON array text: distinct caller keys */
	char *tags;       /* owned JSON array text */
	char *tag_info;   /* owned JSON object text */
	int64_t tm_update;
};

/* Frees the owned strings and zeroes the record. NULL-safe. */
void ch_summary_clear(struct ch_summary *s);

/* One outbox entry. seq orders all events of the store. */
struct ch_event_rec {
	int64_t seq;
	char id[CH_UUID_LEN];
	char customer_id[CH_UUID_LEN];
	char conference_id[CH_UUID_LEN];
	char type[48];
	char *payload; /* owned JSON object text */
	int64_t tm_create;
};

/* A chorusd node of a cluster (several nodes on one PostgreSQL store):
 * what it registers with each heartbeat. status alive|dead; reaped_by:
 * the node that ended the conferences of a dead one. */
struct ch_node {
	char name[64];
	char api_url[128]; /* http://host:port of its API */
	char sip_uri[128]; /* sip:host:port of its SIP listener */
	int64_t load;      /* participants it mixes now */
	int64_t heartbeat; /* us since the epoch */
	int64_t tm_start;  /* us */
	char status[16];
	char reaped_by[64];
};

/* Frees the owned strings and zeroes the record. NULL-safe. */
void ch_conference_clear(struct ch_conference *c);
void ch_event_rec_clear(struct ch_event_rec *e);
/* Deep copy; returns 0 or ENOMEM (dst is then cleared). */
int ch_conference_copy(struct ch_conference *dst,
                       const struct ch_conference *src);

const char *ch_conference_type_str(enum ch_conference_type t);
int ch_conference_type_parse(const char *s, enum ch_conference_type *t);
const char *ch_conference_status_str(enum ch_conference_status s);
int ch_conference_status_parse(const char *s, enum ch_conference_status *st);
const char *ch_conferencecall_status_str(enum ch_conferencecall_status s);
int ch_conferencecall_status_parse(const char *s,
                                   enum ch_conferencecall_status *st);

#endif

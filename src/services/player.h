/*
 * player.h: the player service: turns what a room or a participant is to
 * hear (a list of URLs, a text to speak, a beep) into one decoded clip
 * (media/pcm.h), off the control thread.
 *
 *   - http(s):// URLs are fetched with libcurl (connect and total
 *     timeouts, a size cap); file:// URLs are read only below the
 *     configured media folder (none by default: then every file:// URL is
 *     refused), after resolving symbolic links;
 *   - WAV, FLAC, Ogg (Vorbis, Opus) and MP3 are decoded (audio_decode.h),
 *     mixed down to mono and resampled to the three room rates; several
 *     URLs are played one after the other as one clip;
 *   - text is spoken by the espeak-ng program run as a child process (never
 *     linked: it is GPL-3) with the voice of the language (tts.h); what it
 *     renders is cached on disk by hash of voice and text;
 *   - a beep is a generated tone.
 *
 * Threads: ch_player_alloc/submit/cancel/free run on the control thread
 * (the libre main loop). Jobs run on the service's own threads; each
 * result is handed back through a libre mqueue and delivered to the done
 * handler on the control thread. A job that takes longer than the caller
 * wants is the caller's to time out (ch_player_cancel): its result is then
 * dropped, never delivered.
 */
#ifndef CH_SERVICES_PLAYER_H
#define CH_SERVICES_PLAYER_H

#include <stddef.h>
#include <stdint.h>

struct ch_pcm;
struct ch_player;

struct ch_player_config {
	const char *media_dir; /* file:// root (copied); NULL/"": none */
	const char *cache_dir; /* TTS cache folder (copied; made if absent) */
	size_t max_bytes;      /* most bytes fetched per URL; 0: 50 MiB */
	unsigned connect_timeout_ms; /* 0: 5000 */
	unsigned total_timeout_ms;   /* per URL; 0: 30000 */
	unsigned max_seconds;        /* longest clip decoded; 0: 600 */
	unsigned threads;            /* 0: 2 */
};

enum ch_player_kind {
	CH_PLAYER_URLS = 0, /* urls[0..nurls) one after the other */
	CH_PLAYER_TALK,     /* text spoken in language */
	CH_PLAYER_BEEP,     /* a short tone */
};

/* One job. Strings and the array are copied by ch_player_submit. */
struct ch_player_req {
	enum ch_player_kind kind;
	const char *const *urls;
	size_t nurls;
	const char *text;     /* TALK */
	const char *language; /* TALK: e.g. "en-US" (tts.h) */
};

/*
 * A finished job, on the control thread. err 0: pcm is the clip, owned
 * by the handler from now on. Otherwise pcm is NULL and why says what
 * failed in a few words ("HTTP 404 for <url>", "not an audio file",
 * "connection timed out", ...), valid during the call.
 */
typedef void(ch_player_done_h)(void *arg, uint64_t job, int err,
                               const char *why, struct ch_pcm *pcm);

/* Starts the service threads. cfg is copied; h and arg get the results.
 * Returns 0 or an errno value. */
int ch_player_alloc(struct ch_player **pp, const struct ch_player_config *cfg,
                    ch_player_done_h *h, void *arg);
/* Stops the threads (jobs running are abandoned, no handler is called)
 * and frees; NULL-safe. */
void ch_player_free(struct ch_player *p);

/* Queues a job; *job (never 0) names it in the done handler. EINVAL: a
 * bad request (check URLs first with ch_player_url_check); ENOMEM. */
int ch_player_submit(struct ch_player *p, const struct ch_player_req *req,
                     uint64_t *job);
/* Forgets a job: its result is freed, not delivered. Unknown: ignored. */
void ch_player_cancel(struct ch_player *p, uint64_t job);

/*
 * Whether url may be played (any thread, no I/O but the realpath of a
 * file:// URL): http:// or https:// with a host, at most 2048 bytes, no
 * control characters or spaces; file:// only when media_dir is set and the
 * resolved path is below it. 0, or EINVAL with *why set to a static
 * reason ("scheme must be http, https or file", "file:// URLs are not
 * enabled on this server", "file is outside the media folder", ...).
 */
int ch_player_url_check(const char *media_dir, const char *url,
                        const char **why);

#endif

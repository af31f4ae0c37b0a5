/*
 * tts.c: text-to-speech with the espeak-ng program (see tts.h).
 *
 * Design: a fixed table maps API language tags to espeak-ng voices. A
 * render is cached as <cache_dir>/<sha256 hex of voice "\0" text>.wav: when
 * that file exists it is the answer. Otherwise the text goes to a private
 * temporary file in cache_dir, espeak-ng is started with posix_spawnp (an
 * argv array, never a shell; stdin, stdout and stderr on /dev/null, no
 * inherited descriptors, default signal dispositions) to write a
 * temporary WAV next to it, and is killed if it runs longer than 20 s. The
 * WAV is renamed into place, so a reader never sees a partial file and two
 * threads rendering the same text at once both end with a whole one.
 */
#include "services/tts.h"

#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#define TTS_TIMEOUT_MS 20000
#define TTS_POLL_MS    10
#define TTS_WAV_HEADER 44 /* a WAV this size or smaller holds no audio */
#define TTS_PATH_MAX   4096
#define TTS_VOICE_MAX  32 /* longest voice name in tts_voices */

extern char **environ;

struct tts_voice {
	const char *language; /* API tag */
	const char *voice;    /* espeak-ng voice name */
};

/* Voices checked with `espeak-ng --voices` (espeak-ng 1.51). */
static const struct tts_voice tts_voices[] = {
    {"en-US", "en-us"}, {"en-GB", "en-gb"},  {"de-DE", "de"},
    {"fr-FR", "fr-fr"}, {"fr-BE", "fr-be"},  {"fr-CH", "fr-ch"},
    {"es-ES", "es"},    {"es-MX", "es-419"}, {"it-IT", "it"},
    {"pt-BR", "pt-br"}, {"pt-PT", "pt"},     {"nl-NL", "nl"},
    {"sv-SE", "sv"},    {"pl-PL", "pl"},     {"ru-RU", "ru"},
    {"ja-JP", "ja"},    {"zh-CN", "cmn"},    {"ko-KR", "ko"},
    {"hi-IN", "hi"},    {"ar-SA", "ar"},
};

/* The tags of tts_voices, in order (test_services_player checks both
 * agree). */
static const char tts_language_list[] =
    "en-US, en-GB, de-DE, fr-FR, fr-BE, fr-CH, es-ES, es-MX, it-IT, "
    "pt-BR, pt-PT, nl-NL, sv-SE, pl-PL, ru-RU, ja-JP, zh-CN, ko-KR, "
    "hi-IN, ar-SA";

const char *ch_tts_voice(const char *language)
{
	if (!language)
		return NULL;
	for (size_t i = 0; i < sizeof(tts_voices) / sizeof(tts_voices[0]); i++)
		if (!strcasecmp(language, tts_voices[i].language))
			return tts_voices[i].voice;
	return NULL;
}

const char *ch_tts_languages(void)
{
	return tts_language_list;
}

/* The cache file of voice and text: <dir>/<64 hex>.wav. */
static int tts_cache_path(const char *dir, const char *voice, const char *text,
                          char *path, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[SHA256_DIGEST_LENGTH];
	char name[2 * SHA256_DIGEST_LENGTH + 1];
	unsigned char msg[TTS_VOICE_MAX + 1 + CH_TTS_MAX_TEXT];
	size_t vl = strlen(voice), tl = strlen(text);
	int n;

	if (vl > TTS_VOICE_MAX || tl > CH_TTS_MAX_TEXT)
		return EINVAL;
	memcpy(msg, voice, vl + 1); /* with its NUL */
	memcpy(msg + vl + 1, text, tl);
	SHA256(msg, vl + 1 + tl, md);
	for (size_t i = 0; i < sizeof(md); i++) {
		name[2 * i] = hex[md[i] >> 4];
		name[2 * i + 1] = hex[md[i] & 15];
	}
	name[sizeof(name) - 1] = '\0';
	n = snprintf(path, len, "%s/%s.wav", dir, name);
	return n < 0 || (size_t)n >= len ? EINVAL : 0;
}

/* Whether path is a WAV with audio in it. */
static bool tts_cached(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) &&
	       st.st_size > TTS_WAV_HEADER;
}

static int tts_write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return EIO;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static long tts_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for pid at most timeout_ms, then kills it. 0 if it exited 0. */
static int tts_wait(pid_t pid, const char *voice)
{
	const struct timespec nap = {0, TTS_POLL_MS * 1000000L};
	long deadline = tts_now_ms() + TTS_TIMEOUT_MS;
	int status = 0;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			ch_log_error("tts", "waitpid espeak-ng: %s",
			             strerror(errno));
			return EIO;
		}
		if (tts_now_ms() > deadline) {
			(void)kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			ch_log_error(
			    "tts", "espeak-ng (voice %s) ran over %d s: killed",
			    voice, TTS_TIMEOUT_MS / 1000);
			return EIO;
		}
		(void)nanosleep(&nap, NULL);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		ch_log_error("tts", "espeak-ng (voice %s) exited with %d",
		             voice, WEXITSTATUS(status));
	else
		ch_log_error("tts", "espeak-ng (voice %s) died of signal %d",
		             voice, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return EIO;
}

/* Runs espeak-ng -v voice -w wav -f txt and waits for it. */
static int tts_spawn(const char *voice, const char *wav, const char *txt)
{
	char *argv[] = {"espeak-ng", "-v", (char *)voice, "-w",
	                (char *)wav, "-f", (char *)txt,   NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all, none;
	pid_t pid;
	int err;

	sigfillset(&all);
	sigemptyset(&none);
	if (posix_spawn_file_actions_init(&fa))
		return EIO;
	if (posix_spawnattr_init(&attr)) {
		posix_spawn_file_actions_destroy(&fa);
		return EIO;
	}
	err =
	    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	err = err ? err
	          : posix_spawn_file_actions_addopen(&fa, 1, "/dev/null",
	                                             O_WRONLY, 0);
	err = err ? err
	          : posix_spawn_file_actions_addopen(&fa, 2, "/dev/null",
	                                             O_WRONLY, 0);
#if defined(__GLIBC__) &&                                                      \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	err = err ? err : posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
	err = err ? err : posix_spawnattr_setsigdefault(&attr, &all);
	err = err ? err : posix_spawnattr_setsigmask(&attr, &none);
	err = err ? err
	          : posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF |
	                                                POSIX_SPAWN_SETSIGMASK);
	if (!err)
		err =
		    posix_spawnp(&pid, "espeak-ng", &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (err) {
		ch_log_error("tts", "cannot run espeak-ng: %s", strerror(err));
		return EIO;
	}
	return tts_wait(pid, voice);
}

/* Renders text into a temporary file in dir, then renames it to path. */
static int tts_make(const char *dir, const char *voice, const char *text,
                    const char *path)
{
	char txt[TTS_PATH_MAX], wav[TTS_PATH_MAX];
	int fd, err;

	if (snprintf(txt, sizeof(txt), "%s/.tts-XXXXXX", dir) >=
	        (int)sizeof(txt) ||
	    snprintf(wav, sizeof(wav), "%s/.tts-XXXXXX.wav", dir) >=
	        (int)sizeof(wav))
		return EINVAL;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		ch_log_error("tts", "cannot make %s: %s", dir, strerror(errno));
		return EIO;
	}
	fd = mkstemp(txt);
	if (fd < 0) {
		ch_log_error("tts", "cannot write in %s: %s", dir,
		             strerror(errno));
		return EIO;
	}
	err = tts_write_all(fd, text, strlen(text));
	if (close(fd) && !err)
		err = EIO;
	fd = err ? -1 : mkstemps(wav, 4);
	if (fd < 0) {
		unlink(txt);
		ch_log_error("tts", "cannot write in %s", dir);
		return EIO;
	}
	close(fd);
	err = tts_spawn(voice, wav, txt);
	unlink(txt);
	if (!err && !tts_cached(wav)) {
		ch_log_error("tts", "espeak-ng (voice %s) wrote no audio",
		             voice);
		err = EIO;
	}
	if (!err && rename(wav, path)) {
		ch_log_error("tts", "cannot rename into %s: %s", path,
		             strerror(errno));
		err = EIO;
	}
	if (err)
		unlink(wav);
	return err;
}

int ch_tts_render(const char *cache_dir, const char *language, const char *text,
                  char *path, size_t len)
{
	const char *voice = ch_tts_voice(language);
	size_t tl;
	int err;

	if (!voice || !text || !cache_dir || !*cache_dir || !path || !len)
		return EINVAL;
	tl = strlen(text);
	if (!tl || tl > CH_TTS_MAX_TEXT)
		return EINVAL;
	err = tts_cache_path(cache_dir, voice, text, path, len);
	if (err)
		return err;
	if (tts_cached(path))
		return 0;
	err = tts_make(cache_dir, voice, text, path);
	if (!err)
		ch_log_info("tts", "rendered %zu bytes of text with voice %s",
		            tl, voice);
	return err;
}

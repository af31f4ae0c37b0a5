/*
 * recorder_file.c: the recorder's files (see recorder_file.h): the part
 * folder's index, the final file assembled with libsndfile, recovery after
 * a crash and removal.
 *
 * Assembly reads every part file in blocks, pads or cuts each channel to
 * the mix channel's length, interleaves and writes 16-bit WAV (RF64 past
 * 4 GiB), FLAC or Ogg Opus. libsndfile's Ogg Opus uses the Vorbis surround
 * layouts for 3 to 8 channels, and in the 5.1, 6.1 and 7.1 ones (6, 7 and
 * 8 channels) one channel is a low-frequency effects channel that keeps
 * nothing of speech; from 9 channels on every channel is its own stream.
 * So an Ogg recording of 6 to 8 channels is written with 9: the extra ones
 * are silent and absent from the channel map. The channel map is also
 * stored in the file's comment tag (when the format keeps it), so a file
 * whose parts are already gone can still be reported in full.
 */
#include "services/recorder_file.h"
#include "util/log.h"

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sndfile.h>

#define LOG_MOD "recorder"

/* Frames per block while assembling. */
#define BLOCK 2048
/* Ogg Opus channel counts that would use a surround layout with an LFE
 * channel are raised to this (independent streams). */
#define OGG_SAFE_CH 9
/* Bytes past which a WAV header cannot describe the data. */
#define WAV_MAX_DATA 0xFFFF0000ull

#define INDEX_NAME "index.json"

static const char *const fmt_names[] = {"wav", "flac", "ogg"};

const char *ch_rec_format_str(enum ch_rec_format f)
{
	if ((unsigned)f >= sizeof(fmt_names) / sizeof(fmt_names[0]))
		return "wav";
	return fmt_names[f];
}

int ch_rec_format_parse(const char *s, enum ch_rec_format *f)
{
	for (unsigned i = 0; s && i < sizeof(fmt_names) / sizeof(fmt_names[0]);
	     i++) {
		if (!strcmp(s, fmt_names[i])) {
			*f = (enum ch_rec_format)i;
			return 0;
		}
	}
	return -1;
}

void ch_recorder_path(const char *dir, const char *id,
                      enum ch_rec_format format, char *path, size_t len)
{
	snprintf(path, len, "%s/%s.%s", dir, id, ch_rec_format_str(format));
}

void ch_recorder_file_parts_dir(const char *dir, const char *id, char *out,
                                size_t len)
{
	snprintf(out, len, "%s/%s.parts", dir, id);
}

void ch_recorder_file_part_path(const char *dir, const char *id, unsigned index,
                                char *out, size_t len)
{
	snprintf(out, len, "%s/%s.parts/ch%u.raw", dir, id, index);
}

struct ch_recorder_chan *
ch_recorder_file_index_add(struct ch_recorder_index *ix, bool mix, uint32_t leg)
{
	if (ix->nch == ix->cap) {
		unsigned cap = ix->cap ? ix->cap * 2 : 8;
		struct ch_recorder_chan *n = realloc(ix->ch, cap * sizeof(*n));
		if (!n)
			return NULL;
		ix->ch = n;
		ix->cap = cap;
	}
	struct ch_recorder_chan *c = &ix->ch[ix->nch];
	memset(c, 0, sizeof(*c));
	c->index = ++ix->nch;
	c->mix = mix;
	c->leg = leg;
	return c;
}

static int dup_str(char **dst, const char *s)
{
	char *n = NULL;
	if (s) {
		n = strdup(s);
		if (!n)
			return ENOMEM;
	}
	free(*dst);
	*dst = n;
	return 0;
}

int ch_recorder_file_chan_name(struct ch_recorder_chan *c, const char *ccid,
                               const char *caller_id)
{
	if (dup_str(&c->conferencecall_id, ccid))
		return ENOMEM;
	return dup_str(&c->caller_id, caller_id);
}

void ch_recorder_file_index_clear(struct ch_recorder_index *ix)
{
	for (unsigned i = 0; i < ix->nch; i++) {
		free(ix->ch[i].conferencecall_id);
		free(ix->ch[i].caller_id);
	}
	free(ix->ch);
	memset(ix, 0, sizeof(*ix));
}

/* A channel as JSON; with_leg for the index (not the public map). */
static json_t *chan_json(const struct ch_recorder_chan *c, bool with_leg)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "index", json_integer(c->index));
	json_object_set_new(o, "kind",
	                    json_string(c->mix ? "mix" : "participant"));
	if (!c->mix) {
		if (with_leg) {
			json_object_set_new(o, "leg", json_integer(c->leg));
			json_object_set_new(o, "start",
			                    json_integer((json_int_t)c->start));
		}
		json_object_set_new(o, "conferencecall_id",
		                    json_string(c->conferencecall_id
		                                    ? c->conferencecall_id
		                                    : ""));
		json_object_set_new(
		    o, "caller_id",
		    json_string(c->caller_id ? c->caller_id : ""));
	}
	return o;
}

static json_t *chans_json(const struct ch_recorder_index *ix, bool with_leg)
{
	json_t *a = json_array();
	for (unsigned i = 0; a && i < ix->nch; i++) {
		json_t *o = chan_json(&ix->ch[i], with_leg);
		if (!o || json_array_append_new(a, o)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

char *ch_recorder_file_channels_json(const struct ch_recorder_index *ix)
{
	json_t *a = chans_json(ix, false);
	if (!a)
		return NULL;
	char *s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

int ch_recorder_file_index_write(const char *dir,
                                 const struct ch_recorder_index *ix)
{
	char path[4096], tmp[4200];
	json_t *o = json_object(), *a = chans_json(ix, true);
	int err = EIO;

	if (!o || !a)
		goto out;
	json_object_set_new(o, "version", json_integer(1));
	json_object_set_new(o, "id", json_string(ix->id));
	json_object_set_new(o, "format",
	                    json_string(ch_rec_format_str(ix->format)));
	json_object_set_new(o, "tracks", json_boolean(ix->tracks));
	json_object_set_new(o, "rate", json_integer(ix->rate));
	json_object_set_new(o, "dropped",
	                    json_integer((json_int_t)ix->dropped));
	json_object_set(o, "channels", a);
	ch_recorder_file_parts_dir(dir, ix->id, path, sizeof(path));
	size_t n = strlen(path);
	snprintf(path + n, sizeof(path) - n, "/%s", INDEX_NAME);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (json_dump_file(o, tmp, JSON_COMPACT))
		goto out;
	if (rename(tmp, path)) {
		unlink(tmp);
		goto out;
	}
	err = 0;
out:
	json_decref(a);
	json_decref(o);
	return err;
}

static const char *obj_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s && *s ? s : NULL;
}

int ch_recorder_file_index_read(const char *dir, const char *id,
                                struct ch_recorder_index *ix)
{
	char path[4096];
	json_error_t jerr;

	ch_recorder_file_index_clear(ix);
	ch_recorder_file_parts_dir(dir, id, path, sizeof(path));
	size_t n = strlen(path);
	snprintf(path + n, sizeof(path) - n, "/%s", INDEX_NAME);
	if (access(path, F_OK))
		return ENOENT;
	json_t *o = json_load_file(path, 0, &jerr);
	json_t *a = json_object_get(o, "channels");
	if (!json_is_array(a)) {
		json_decref(o);
		return EIO;
	}
	snprintf(ix->id, sizeof(ix->id), "%s", id);
	if (ch_rec_format_parse(obj_str(o, "format"), &ix->format))
		ix->format = CH_REC_WAV;
	ix->tracks = json_is_true(json_object_get(o, "tracks"));
	ix->rate = (uint32_t)json_integer_value(json_object_get(o, "rate"));
	ix->dropped =
	    (uint64_t)json_integer_value(json_object_get(o, "dropped"));
	size_t i;
	json_t *c;
	int err = 0;
	json_array_foreach(a, i, c)
	{
		bool mix = !strcmp(obj_str(c, "kind") ? obj_str(c, "kind") : "",
		                   "mix");
		uint32_t leg =
		    (uint32_t)json_integer_value(json_object_get(c, "leg"));
		struct ch_recorder_chan *ch =
		    ch_recorder_file_index_add(ix, mix, leg);
		if (ch)
			ch->start = (uint64_t)json_integer_value(
			    json_object_get(c, "start"));
		if (!ch || ch_recorder_file_chan_name(
		               ch, obj_str(c, "conferencecall_id"),
		               obj_str(c, "caller_id"))) {
			err = ENOMEM;
			break;
		}
	}
	json_decref(o);
	if (!err && (ix->nch == 0 || !ix->ch[0].mix))
		err = EIO;
	if (err)
		ch_recorder_file_index_clear(ix);
	return err;
}

void ch_recorder_file_result_clear(struct ch_recorder_file_result *out)
{
	free(out->channels);
	free(out->path);
	memset(out, 0, sizeof(*out));
}

int ch_recorder_file_rmparts(const char *parts_dir)
{
	DIR *d = opendir(parts_dir);
	struct dirent *e;
	char p[4400];
	int err = 0;

	if (!d)
		return errno;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", parts_dir, e->d_name);
		if (unlink(p) && errno != ENOENT)
			err = errno;
	}
	closedir(d);
	if (rmdir(parts_dir) && !err)
		err = errno;
	return err;
}

static int sf_format_of(enum ch_rec_format f, unsigned nch, uint64_t data_bytes)
{
	switch (f) {
	case CH_REC_FLAC:
		return SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
	case CH_REC_OGG:
		return SF_FORMAT_OGG | SF_FORMAT_OPUS;
	default:
		/* WAVE_FORMAT_EXTENSIBLE (no speaker mask) past 2 channels,
		 * as Microsoft asks; libsndfile's plain WAV would not. */
		if (data_bytes > WAV_MAX_DATA)
			return SF_FORMAT_RF64 | SF_FORMAT_PCM_16;
		return (nch > 2 ? SF_FORMAT_WAVEX : SF_FORMAT_WAV) |
		       SF_FORMAT_PCM_16;
	}
}

/* Channels of the written file for nch channels of audio. */
static unsigned file_channels(enum ch_rec_format f, unsigned nch)
{
	if (f == CH_REC_OGG && nch >= 6 && nch < OGG_SAFE_CH)
		return OGG_SAFE_CH;
	return nch;
}

/* The part files of ix, opened for reading (NULL where absent). */
struct parts {
	const struct ch_recorder_index *ix;
	unsigned n;
	FILE **f;
	int16_t *blk; /* BLOCK samples */
	int16_t *out; /* BLOCK x file channels */
};

static void parts_close(struct parts *p)
{
	for (unsigned i = 0; p->f && i < p->n; i++)
		if (p->f[i])
			fclose(p->f[i]);
	free(p->f);
	free(p->blk);
	free(p->out);
	memset(p, 0, sizeof(*p));
}

static int parts_open(const char *dir, const struct ch_recorder_index *ix,
                      unsigned fch, struct parts *p)
{
	char path[4400];

	memset(p, 0, sizeof(*p));
	p->ix = ix;
	p->n = ix->nch;
	p->f = calloc(ix->nch, sizeof(*p->f));
	p->blk = malloc(BLOCK * sizeof(int16_t));
	p->out = malloc((size_t)BLOCK * fch * sizeof(int16_t));
	if (!p->f || !p->blk || !p->out) {
		parts_close(p);
		return ENOMEM;
	}
	for (unsigned i = 0; i < ix->nch; i++) {
		ch_recorder_file_part_path(dir, ix->id, ix->ch[i].index, path,
		                           sizeof(path));
		p->f[i] = fopen(path, "rb");
	}
	return 0;
}

/* Interleaves frames [at, at + n) of every part into p->out: silence
 * before a channel's start and past the end of its file. */
static void parts_read(struct parts *p, unsigned fch, uint64_t at, size_t n)
{
	memset(p->out, 0, n * fch * sizeof(int16_t));
	for (unsigned c = 0; c < p->n; c++) {
		uint64_t start = p->ix->ch[c].start;
		size_t skip = start <= at      ? 0
		              : start - at < n ? (size_t)(start - at)
		                               : n;
		size_t got =
		    p->f[c] ? fread(p->blk, sizeof(int16_t), n - skip, p->f[c])
		            : 0;
		int16_t *o = p->out + skip * fch + c;
		for (size_t i = 0; i < got; i++)
			o[i * fch] = (int16_t)le16toh((uint16_t)p->blk[i]);
	}
}

/* Writes frames frames of the parts into snd. 0 or EIO. */
static int write_frames(SNDFILE *snd, struct parts *p, unsigned fch,
                        uint64_t frames, ch_recorder_file_step_h *step,
                        void *arg)
{
	for (uint64_t done = 0; done < frames;) {
		size_t n =
		    frames - done < BLOCK ? (size_t)(frames - done) : BLOCK;
		parts_read(p, fch, done, n);
		if (sf_writef_short(snd, p->out, (sf_count_t)n) !=
		    (sf_count_t)n)
			return EIO;
		done += n;
		if (step)
			step(arg);
	}
	return 0;
}

/* Bytes of a file, 0 if absent. */
static uint64_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) ? 0 : (uint64_t)st.st_size;
}

/* Writes the final file's temp copy; 0 or errno. */
static int write_tmp(const char *tmp, const char *dir,
                     const struct ch_recorder_index *ix, uint32_t rate,
                     unsigned fch, uint64_t frames, const char *map,
                     ch_recorder_file_step_h *step, void *arg)
{
	SF_INFO info = {.samplerate = (int)rate, .channels = (int)fch};
	struct parts p;
	int err = parts_open(dir, ix, fch, &p);

	if (err)
		return err;
	info.format =
	    sf_format_of(ix->format, fch, frames * fch * sizeof(int16_t));
	int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		parts_close(&p);
		return EIO;
	}
	SNDFILE *snd = sf_open_fd(fd, SFM_WRITE, &info, 0);
	if (!snd) {
		ch_log_error(LOG_MOD, "%s: cannot write %s: %s", ix->id, tmp,
		             sf_strerror(NULL));
		err = EIO;
	} else {
		if (map)
			(void)sf_set_string(snd, SF_STR_COMMENT, map);
		err = write_frames(snd, &p, fch, frames, step, arg);
		if (sf_close(snd))
			err = EIO;
	}
	if (!err && fsync(fd))
		err = EIO;
	close(fd);
	parts_close(&p);
	if (err)
		unlink(tmp);
	return err;
}

int ch_recorder_file_assemble(const char *dir,
                              const struct ch_recorder_index *ix,
                              ch_recorder_file_step_h *step, void *arg,
                              struct ch_recorder_file_result *out)
{
	char path[4096], tmp[4200], parts[4096];
	uint32_t rate = ix->rate ? ix->rate : 8000;
	unsigned fch = file_channels(ix->format, ix->nch);

	memset(out, 0, sizeof(*out));
	ch_recorder_file_part_path(dir, ix->id, 1, path, sizeof(path));
	uint64_t frames = file_size(path) / sizeof(int16_t);
	ch_recorder_path(dir, ix->id, ix->format, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	out->channels = ch_recorder_file_channels_json(ix);
	out->path = strdup(path);
	if (!out->channels || !out->path) {
		ch_recorder_file_result_clear(out);
		return ENOMEM;
	}
	int err = write_tmp(tmp, dir, ix, rate, fch, frames, out->channels,
	                    step, arg);
	if (!err && rename(tmp, path))
		err = EIO;
	if (err) {
		ch_log_error(LOG_MOD, "%s: assembly of %s failed: %s", ix->id,
		             path, strerror(err));
		ch_recorder_file_result_clear(out);
		return err;
	}
	ch_recorder_file_parts_dir(dir, ix->id, parts, sizeof(parts));
	if (ch_recorder_file_rmparts(parts))
		ch_log_warn(LOG_MOD, "%s: cannot remove %s", ix->id, parts);
	snprintf(out->r.id, sizeof(out->r.id), "%s", ix->id);
	out->r.duration_ms = frames * 1000 / rate;
	out->r.rate = rate;
	out->r.nchannels = fch;
	out->r.channels = out->channels;
	out->r.path = out->path;
	out->r.size = file_size(path);
	out->r.dropped = ix->dropped;
	return 0;
}

/* A channel map of n channels without names. */
static char *generic_map(unsigned n)
{
	struct ch_recorder_index ix = {0};
	char *s = NULL;
	for (unsigned i = 0; i < n; i++)
		if (!ch_recorder_file_index_add(&ix, i == 0, 0))
			goto out;
	s = ch_recorder_file_channels_json(&ix);
out:
	ch_recorder_file_index_clear(&ix);
	return s;
}

int ch_recorder_file_report(const char *dir, const char *id,
                            enum ch_rec_format format,
                            struct ch_recorder_file_result *out)
{
	char path[4096];
	SF_INFO info = {0};

	memset(out, 0, sizeof(*out));
	ch_recorder_path(dir, id, format, path, sizeof(path));
	if (access(path, F_OK))
		return ENOENT;
	SNDFILE *snd = sf_open(path, SFM_READ, &info);
	if (!snd || info.samplerate <= 0) {
		if (snd)
			sf_close(snd);
		return EIO;
	}
	const char *c = sf_get_string(snd, SF_STR_COMMENT);
	json_t *j = c ? json_loads(c, 0, NULL) : NULL;
	out->channels =
	    json_is_array(j) ? strdup(c) : generic_map((unsigned)info.channels);
	json_decref(j);
	sf_close(snd);
	out->path = strdup(path);
	if (!out->channels || !out->path) {
		ch_recorder_file_result_clear(out);
		return ENOMEM;
	}
	snprintf(out->r.id, sizeof(out->r.id), "%s", id);
	out->r.rate = (uint32_t)info.samplerate;
	out->r.duration_ms = (uint64_t)info.frames * 1000 / out->r.rate;
	out->r.nchannels = (unsigned)info.channels;
	out->r.channels = out->channels;
	out->r.path = out->path;
	out->r.size = file_size(path);
	return 0;
}

/* An index for parts without a readable index.json: the chN.raw files
 * present from ch1 on, channel 1 the mix. */
static int index_guess(const char *dir, const char *id,
                       enum ch_rec_format format, struct ch_recorder_index *ix)
{
	char path[4400];

	ch_recorder_file_index_clear(ix);
	snprintf(ix->id, sizeof(ix->id), "%s", id);
	ix->format = format;
	for (unsigned i = 1;; i++) {
		ch_recorder_file_part_path(dir, id, i, path, sizeof(path));
		if (i > 1 && access(path, F_OK))
			break;
		if (!ch_recorder_file_index_add(ix, i == 1, 0))
			return ENOMEM;
	}
	ix->tracks = ix->nch > 1;
	return 0;
}

int ch_recorder_recover(const char *dir, const char *id,
                        enum ch_rec_format format,
                        struct ch_recorder_result *out)
{
	static __thread struct ch_recorder_file_result keep;
	struct ch_recorder_index ix = {0};
	char parts[4096];
	int err;

	ch_recorder_file_result_clear(&keep);
	memset(out, 0, sizeof(*out));
	ch_recorder_file_parts_dir(dir, id, parts, sizeof(parts));
	if (access(parts, F_OK)) {
		err = ch_recorder_file_report(dir, id, format, &keep);
		if (err)
			return err;
		*out = keep.r;
		ch_log_info(LOG_MOD, "%s: recovered: file already complete",
		            id);
		return 0;
	}
	err = ch_recorder_file_index_read(dir, id, &ix);
	if (err == ENOENT || err == EIO) {
		ch_log_warn(LOG_MOD, "%s: no readable index, guessing channels",
		            id);
		err = index_guess(dir, id, format, &ix);
	}
	if (!err) {
		ix.format = format;
		err = ch_recorder_file_assemble(dir, &ix, NULL, NULL, &keep);
	}
	ch_recorder_file_index_clear(&ix);
	if (err)
		return err == ENOMEM ? ENOMEM : EIO;
	*out = keep.r;
	ch_log_info(LOG_MOD,
	            "%s: recovered after a crash: %" PRIu64 " ms, %u channels",
	            id, out->duration_ms, out->nchannels);
	return 0;
}

int ch_recorder_remove(const char *dir, const char *id,
                       enum ch_rec_format format)
{
	char path[4096], tmp[4200];
	bool found = false;
	int err = 0;

	ch_recorder_path(dir, id, format, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	const char *files[] = {path, tmp};
	for (unsigned i = 0; i < 2; i++) {
		if (!unlink(files[i]))
			found = true;
		else if (errno != ENOENT)
			err = EIO;
	}
	ch_recorder_file_parts_dir(dir, id, path, sizeof(path));
	int e = ch_recorder_file_rmparts(path);
	if (!e)
		found = true;
	else if (e != ENOENT)
		err = EIO;
	if (err)
		ch_log_error(LOG_MOD, "%s: cannot remove its files", id);
	return err ? err : found ? 0 : ENOENT;
}

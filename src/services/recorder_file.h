/*
 * recorder_file.h: the recorder's files on disk (private to the recorder):
 * the index of a recording's part folder, and the assembly of the final
 * file from the parts (used by the service thread at finish and by
 * ch_recorder_recover after a crash).
 *
 * Layout of recording id under dir:
 *   <dir>/<id>.parts/ch<N>.raw   channel N (1 = mix), raw s16le, mono
 *   <dir>/<id>.parts/index.json  struct ch_recorder_index, replaced whole
 *                                (temp file + rename) when it changes
 *   <dir>/<id>.<ext>.tmp         the final file while it is assembled
 *   <dir>/<id>.<ext>             the final file (renamed into place, then
 *                                the parts are removed)
 *
 * Threads: these functions touch only the files and structs they are
 * given; any thread may call them, one recording at a time.
 */
#ifndef CH_SERVICES_RECORDER_FILE_H
#define CH_SERVICES_RECORDER_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "services/recorder.h"

/* FLAC carries at most this many channels (mix included). */
#define CH_RECORDER_FLAC_MAX_CH 8

/* One channel of a recording. Strings are owned (malloc) by the index. */
struct ch_recorder_chan {
	unsigned index;          /* 1 = mix, 2.. = participants */
	bool mix;                /* channel 1 */
	uint32_t leg;            /* engine leg (participants) */
	uint64_t start;          /* sample of the recording where its part
	                          * file begins (silence before) */
	char *conferencecall_id; /* NULL until ch_recorder_track names it */
	char *caller_id;         /* idem */
};

/* What index.json holds. Owned by whoever holds the struct (the service
 * thread's recording, or a recover call on its stack). */
struct ch_recorder_index {
	char id[CH_UUID_LEN];
	enum ch_rec_format format;
	bool tracks;
	uint32_t rate;    /* 0 until the first record */
	uint64_t dropped; /* ticks written as silence */
	unsigned nch;     /* channels in ch[] */
	unsigned cap;     /* room in ch[] */
	struct ch_recorder_chan *ch;
};

/* A result with the strings it points to (owned, malloc). */
struct ch_recorder_file_result {
	struct ch_recorder_result r;
	char *channels;
	char *path;
};

/* Writes <dir>/<id>.parts into out (len bytes). */
void ch_recorder_file_parts_dir(const char *dir, const char *id, char *out,
                                size_t len);
/* Writes the path of channel index's part file into out. */
void ch_recorder_file_part_path(const char *dir, const char *id, unsigned index,
                                char *out, size_t len);

/* Appends a channel (index = nch + 1). NULL: no memory. */
struct ch_recorder_chan *
ch_recorder_file_index_add(struct ch_recorder_index *ix, bool mix,
                           uint32_t leg);
/* Replaces a channel's names (copied; NULL keeps none). 0 or ENOMEM. */
int ch_recorder_file_chan_name(struct ch_recorder_chan *c, const char *ccid,
                               const char *caller_id);
/* Frees the channels; ix may be reused (zeroed). */
void ch_recorder_file_index_clear(struct ch_recorder_index *ix);
/* index.json of recording ix->id under dir, via a temp file + rename.
 * 0 or EIO. */
int ch_recorder_file_index_write(const char *dir,
                                 const struct ch_recorder_index *ix);
/* Reads index.json of id; ix is cleared first. 0, ENOENT, EIO (bad
 * file), ENOMEM. */
int ch_recorder_file_index_read(const char *dir, const char *id,
                                struct ch_recorder_index *ix);

/* The channel map JSON text of the header (malloc). NULL: no memory. */
char *ch_recorder_file_channels_json(const struct ch_recorder_index *ix);

/* Called between blocks of an assembly (the service thread keeps its
 * other recordings drained meanwhile). */
typedef void(ch_recorder_file_step_h)(void *arg);

/*
 * Assembles the final file of ix from its part files: every channel as
 * long as the mix channel (shorter ones padded with silence, longer ones
 * cut), written to <id>.<ext>.tmp, renamed into place, then the parts
 * removed. step (may be NULL) runs after every block. Fills *out (release
 * with ch_recorder_file_result_clear). 0, or EIO / ENOMEM (parts are left
 * as they were).
 */
int ch_recorder_file_assemble(const char *dir,
                              const struct ch_recorder_index *ix,
                              ch_recorder_file_step_h *step, void *arg,
                              struct ch_recorder_file_result *out);
/* Fills *out from an existing final file (its embedded channel map if it
 * has one). 0, ENOENT, EIO. */
int ch_recorder_file_report(const char *dir, const char *id,
                            enum ch_rec_format format,
                            struct ch_recorder_file_result *out);
/* Frees the result's strings and zeroes it. */
void ch_recorder_file_result_clear(struct ch_recorder_file_result *out);

/* Removes a folder and the files in it (no subfolders). 0 or errno. */
int ch_recorder_file_rmparts(const char *parts_dir);

#endif

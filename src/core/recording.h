/*
 * recording.h: the recording resources as the API sees them: lookup with
 * the tenant check, lists, DELETE (row soft-deleted, file removed), the
 * file's path and content type, and their JSON. Starting and stopping a
 * recording is conference code (it owns the room); this file only reads
 * and deletes.
 *
 * Threading: control thread only (the store is used there).
 * Errors as in core.h: ENOENT (unknown, another customer's, deleted),
 * EBUSY (still recording), EIO (store).
 */
#ifndef CH_CORE_RECORDING_H
#define CH_CORE_RECORDING_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct ch_core;

/* The customer's recording id, not deleted; out is filled (the caller
 * clears it) only on 0. */
int ch_recording_get(struct ch_core *core, const char *customer_id,
                     const char *id, struct ch_recording *out);
/* The customer's recordings that are not deleted, newest first, created
 * before before_us, at most limit; reference_id NULL: every conference. */
int ch_recording_list(struct ch_core *core, const char *customer_id,
                      const char *reference_id, int64_t before_us,
                      unsigned limit, ch_store_recording_h *h, void *arg);
/* DELETE: EBUSY while its status is "recording"; else tm_delete and
 * tm_update are set and stored, then dir/<id>.<format> is removed (a
 * missing file is no error; another failure is logged). out gets the
 * deleted recording (the caller clears it) on 0. */
int ch_recording_delete(struct ch_core *core, const char *customer_id,
                        const char *id, const char *dir,
                        struct ch_recording *out);
/* Writes dir/<id>.<format> into path. EINVAL: a format that is not wav,
 * flac or ogg (never a path from stored text); ENAMETOOLONG. */
int ch_recording_file_path(const char *dir, const struct ch_recording *r,
                           char *path, size_t len);
/* "audio/wav", "audio/flac", "audio/ogg", or NULL for another format. */
const char *ch_recording_content_type(const char *format);
/* Whether it is still being written (status "recording"). */
bool ch_recording_active(const struct ch_recording *r);
/* The API JSON of the recording (core/json_map.c); NULL on ENOMEM. */
json_t *ch_recording_to_json(const struct ch_recording *r);

#endif

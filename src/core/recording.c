/*
 * recording.c: recording resources for the API: tenant-checked lookup,
 * lists, DELETE, file path and JSON. See recording.h.
 */
#include "core/recording.h"
#include "core/core.h"
#include "core/json_map.h"
#include "services/recorder.h"
#include "util/log.h"
#include "util/timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool deleted(const struct ch_recording *r)
{
	return r->tm_delete > 0 && r->tm_delete < CH_TIME_NEVER_US;
}

bool ch_recording_active(const struct ch_recording *r)
{
	return !strcmp(r->status, "recording");
}

int ch_recording_get(struct ch_core *core, const char *customer_id,
                     const char *id, struct ch_recording *out)
{
	struct ch_store *st = ch_core_store(core);
	struct ch_recording r;
	int err = st->ops->recording_get(st, id, &r);
	if (err)
		return err;
	if (strcmp(r.customer_id, customer_id) || deleted(&r)) {
		ch_recording_clear(&r);
		return ENOENT;
	}
	*out = r;
	return 0;
}

int ch_recording_list(struct ch_core *core, const char *customer_id,
                      const char *reference_id, int64_t before_us,
                      unsigned limit, ch_store_recording_h *h, void *arg)
{
	struct ch_store *st = ch_core_store(core);
	return st->ops->recording_list(st, customer_id, reference_id, before_us,
	                               limit, h, arg);
}

const char *ch_recording_content_type(const char *format)
{
	if (!strcmp(format, "wav"))
		return "audio/wav";
	if (!strcmp(format, "flac"))
		return "audio/flac";
	if (!strcmp(format, "ogg"))
		return "audio/ogg";
	return NULL;
}

int ch_recording_file_path(const char *dir, const struct ch_recording *r,
                           char *path, size_t len)
{
	/* the id is a checked UUID (route) or one we made; the format is
	 * one of three names: nothing from the row can leave dir */
	enum ch_rec_format f;
	if (ch_rec_format_parse(r->format, &f) || !ch_uuid_valid(r->id))
		return EINVAL;
	if (strlen(dir) + strlen(r->id) + 7 >= len)
		return ENAMETOOLONG;
	ch_recorder_path(dir, r->id, f, path, len);
	return 0;
}

int ch_recording_delete(struct ch_core *core, const char *customer_id,
                        const char *id, const char *dir,
                        struct ch_recording *out)
{
	struct ch_store *st = ch_core_store(core);
	struct ch_recording r;
	int err = ch_recording_get(core, customer_id, id, &r);
	if (err)
		return err;
	if (ch_recording_active(&r)) {
		ch_recording_clear(&r);
		return EBUSY;
	}
	r.tm_update = r.tm_delete = ch_time_now_us();
	err = st->ops->recording_update(st, &r);
	if (err) {
		ch_recording_clear(&r);
		return err;
	}
	/* the file, and the parts a failed assembly left (the recorder's
	 * own removal, which logs a failure) */
	enum ch_rec_format f;
	if (dir && *dir && !ch_rec_format_parse(r.format, &f))
		(void)ch_recorder_remove(dir, r.id, f);
	ch_log_info("core", "recording %s deleted", r.id);
	*out = r;
	return 0;
}

json_t *ch_recording_to_json(const struct ch_recording *r)
{
	return ch_json_map_recording(r);
}

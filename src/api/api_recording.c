/*
 * api_recording.c: the /recordings routes: list, get, DELETE, and the
 * audio file itself, streamed from disk (api/httpd.c) with Range support.
 */
#include "api/api.h"
#include "api/api_internal.h"
#include "api/httpd.h"
#include "core/recording.h"
#include "util/log.h"

#include <re_types.h>
#include <re_fmt.h>
#include <re_list.h>
#include <re_msg.h>
#include <re_http.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void ch_api_recordings_dir_set(struct ch_api *api, const char *dir)
{
	snprintf(api->recordings_dir, sizeof(api->recordings_dir), "%s",
	         dir ? dir : "");
}

static void reply_recording(struct ch_api_req *r, struct ch_recording *rec)
{
	ch_api_ok(r, ch_recording_to_json(rec));
	ch_recording_clear(rec);
}

static void in_progress(struct ch_api_req *r)
{
	ch_api_error(r, 409, "recording_in_progress", NULL,
	             "recording %s is still being recorded; stop it first",
	             r->id);
}

static int list_h(const struct ch_recording *rec, void *arg)
{
	struct ch_api_list *l = arg;
	return ch_api_list_add(l, ch_recording_to_json(rec), rec->tm_create);
}

void ch_api_recording_list(struct ch_api_req *r)
{
	struct ch_api_list l;
	unsigned size;
	int64_t before;
	const char *ref;
	if (!ch_api_query_reference(r, &ref) ||
	    !ch_api_list_begin(&l, r, &size, &before))
		return;
	int err = ch_recording_list(r->api->core, r->cust.id, ref, before, size,
	                            list_h, &l);
	ch_api_list_end(&l, err, size, "recording");
}

void ch_api_recording_get(struct ch_api_req *r)
{
	struct ch_recording rec;
	int err = ch_recording_get(r->api->core, r->cust.id, r->id, &rec);
	if (err)
		ch_api_error_core(r, err, "recording");
	else
		reply_recording(r, &rec);
}

void ch_api_recording_delete(struct ch_api_req *r)
{
	struct ch_recording rec;
	int err = ch_recording_delete(r->api->core, r->cust.id, r->id,
	                              r->api->recordings_dir, &rec);
	if (err == EBUSY)
		in_progress(r);
	else if (err)
		ch_api_error_core(r, err, "recording");
	else
		reply_recording(r, &rec);
}

/* Opens the recording's file: its descriptor and size, or -1 with an
 * error response set. */
static int file_open(struct ch_api_req *r, const struct ch_recording *rec,
                     uint64_t *size)
{
	char path[2048] = "";
	struct stat sb;
	int fd = -1, e = ENOENT;
	if (r->api->recordings_dir[0])
		e = ch_recording_file_path(r->api->recordings_dir, rec, path,
		                           sizeof(path));
	if (e == EINVAL) /* a stored format that is none of ours */
		e = EIO;
	if (path[0] && !e) {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		e = fd < 0 ? errno : 0;
	}
	if (fd >= 0 && (fstat(fd, &sb) || !S_ISREG(sb.st_mode))) {
		(void)close(fd);
		fd = -1;
		e = ENOENT;
	}
	if (fd < 0 && (e == ENOENT || e == ENOTDIR)) {
		ch_api_error(r, 404, "file_not_found", NULL,
		             "the file of recording %s is not available",
		             rec->id);
		return -1;
	}
	if (fd < 0) { /* EACCES, EMFILE ...: the server's fault */
		ch_log_warn("api", "recording %s: cannot open %s/%s.%s: %s",
		            rec->id, r->api->recordings_dir, rec->id,
		            rec->format, strerror(e));
		ch_api_error_core(r, e, "recording");
		return -1;
	}
	*size = (uint64_t)sb.st_size;
	return fd;
}

/* The Range header's value into buf, or NULL (none, or too long to be a
 * single range: then the whole file). */
static const char *range_value(const struct ch_api_req *r, char *buf,
                               size_t len)
{
	const struct http_hdr *h =
	    r->msg ? http_msg_hdr(r->msg, HTTP_HDR_RANGE) : NULL;
	if (!h || h->val.l >= len)
		return NULL;
	pl_strcpy(&h->val, buf, len);
	return buf;
}

/* 416 with Content-Range: bytes * /size (the header is not in the JSON
 * answer path, so it is sent here). */
static void unsatisfiable(struct ch_api_req *r, uint64_t size)
{
	char hdr[64], *text;
	ch_api_error(r, 416, "range_not_satisfiable", NULL,
	             "the range is outside the file (%llu bytes)",
	             (unsigned long long)size);
	if (!r->conn)
		return;
	snprintf(hdr, sizeof(hdr), "Content-Range: bytes */%llu\r\n",
	         (unsigned long long)size);
	text = json_dumps(r->resp, JSON_COMPACT | JSON_REAL_PRECISION(6));
	(void)ch_httpd_reply(r->conn, 416, "Range Not Satisfiable",
	                     "application/json", text ? text : "",
	                     text ? strlen(text) : 0, hdr);
	free(text);
	r->taken = true;
}

void ch_api_recording_file(struct ch_api_req *r)
{
	struct ch_recording rec;
	char range[128], hdrs[512];
	uint64_t size = 0, off = 0, len = 0;
	int err = ch_recording_get(r->api->core, r->cust.id, r->id, &rec);
	if (err) {
		ch_api_error_core(r, err, "recording");
		return;
	}
	if (ch_recording_active(&rec)) {
		in_progress(r);
		ch_recording_clear(&rec);
		return;
	}
	int fd = file_open(r, &rec, &size);
	if (fd < 0) {
		ch_recording_clear(&rec);
		return;
	}
	uint16_t status = ch_httpd_parse_range(
	    range_value(r, range, sizeof(range)), size, &off, &len);
	if (status == 416) {
		(void)close(fd);
		unsatisfiable(r, size);
		ch_recording_clear(&rec);
		return;
	}
	if (status == 200) {
		off = 0;
		len = size;
	}
	int n = snprintf(hdrs, sizeof(hdrs),
	                 "Accept-Ranges: bytes\r\n"
	                 "Content-Disposition: attachment; "
	                 "filename=\"%s.%s\"\r\n",
	                 rec.id, rec.format);
	if (status == 206)
		snprintf(hdrs + n, sizeof(hdrs) - (size_t)n,
		         "Content-Range: bytes %llu-%llu/%llu\r\n",
		         (unsigned long long)off,
		         (unsigned long long)(off + len - 1),
		         (unsigned long long)size);
	const char *ctype = ch_recording_content_type(rec.format);
	if (!r->conn) {
		/* ch_api_handle (tests, fuzzing): no socket to stream to;
		 * describe the answer instead */
		(void)close(fd);
		ch_api_ok(r,
		          json_pack("{s:s,s:I,s:I,s:I}", "content_type", ctype,
		                    "offset", (json_int_t)off, "length",
		                    (json_int_t)len, "size", (json_int_t)size));
		r->status = status;
		ch_recording_clear(&rec);
		return;
	}
	ch_log_debug("api", "GET %s -> %u (%llu bytes from %llu)", r->path,
	             status, (unsigned long long)len, (unsigned long long)off);
	(void)ch_httpd_reply_file(r->conn, status,
	                          status == 206 ? "Partial Content" : "OK",
	                          ctype, fd, off, len, hdrs);
	r->taken = true;
	ch_recording_clear(&rec);
}

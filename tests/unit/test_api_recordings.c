/*
 * test_api_recordings.c: unit tests for the /recordings routes
 * (api/api_recording.c, core/recording.c) and the HTTP layer's file
 * answers and Range parser (api/httpd.c).
 *
 * The API runs over a real store (mkdtemp folder), event hub and core;
 * recording rows are inserted into the store directly and their files
 * written into <tmp>/recordings. JSON routes are driven through
 * ch_api_handle; the file route also over a real loopback socket on the
 * libre loop, the client being a non-blocking socket in the test thread
 * with a small receive buffer (so the server must wait for the queue to
 * drain many times). Covered: ch_httpd_parse_range with valid and hostile
 * values; list (newest first, pages, reference_id filter, deleted and
 * other tenants' rows left out), get (404 for another tenant, deleted,
 * unknown), DELETE (409 while recording, file removed, then 404); the
 * file: 409 while recording, 404 without a file, 200 with exact bytes and
 * headers, 206 for bytes=0-99 and a suffix, 416 with Content-Range
 * bytes * /size, requests pipelined behind a file answered in order after
 * it, Connection: close honoured after the file, a client that goes
 * away mid-file freeing its connection and file descriptor, and one that
 * stops reading closed after the idle timeout.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "re_loop.h"

#include <re_sa.h>

#include "api/api.h"
#include "api/api_internal.h"
#include "api/httpd.h"
#include "core/core.h"
#include "events/events.h"
#include "store/store.h"
#include "util/timefmt.h"
#include "util/token.h"
#include "util/uuid.h"

#include "tmpdir.h"
#include "api_fixture.h"

#define TOKEN   "rec-token-a"
#define TOKEN_B "rec-token-b"
#define BEARER  "Bearer " TOKEN
#define CONF_1  "cccccccc-0000-4000-8000-000000000001"
#define CONF_2  "cccccccc-0000-4000-8000-000000000002"

struct fix {
	struct api_stack s;
	char rec_dir[CH_TEST_DIR_MAX + 16];
	char cust[CH_UUID_LEN], cust_b[CH_UUID_LEN];
	uint16_t port;
};

/* ---- Range parsing ---- */

struct range_case {
	const char *value;
	uint64_t size;
	uint16_t status;
	uint64_t off, len;
};

static void test_range_parse(void **state)
{
	static const struct range_case cases[] = {
	    {NULL, 1000, 200, 0, 0},
	    {"bytes=0-99", 1000, 206, 0, 100},
	    {"bytes=0-0", 1000, 206, 0, 1},
	    {"bytes=100-", 1000, 206, 100, 900},
	    {"bytes=999-", 1000, 206, 999, 1},
	    {"bytes=-100", 1000, 206, 900, 100},
	    {"bytes=-5000", 1000, 206, 0, 1000},
	    {"bytes=500-99999", 1000, 206, 500, 500},
	    {"BYTES=1-2", 1000, 206, 1, 2},
	    {" bytes = 1-2 ", 1000, 206, 1, 2},
	    {"bytes=1-2\t", 1000, 206, 1, 2},
	    /* clamped: a last byte past any 64-bit size */
	    {"bytes=10-99999999999999999999999999", 1000, 206, 10, 990},
	    {"bytes=-99999999999999999999999999", 1000, 206, 0, 1000},
	    /* unsatisfiable */
	    {"bytes=1000-", 1000, 416, 0, 0},
	    {"bytes=1000-2000", 1000, 416, 0, 0},
	    {"bytes=99999999999999999999999999-", 1000, 416, 0, 0},
	    {"bytes=18446744073709551615-", 1000, 416, 0, 0},
	    {"bytes=-0", 1000, 416, 0, 0},
	    {"bytes=0-", 0, 416, 0, 0},
	    {"bytes=-1", 0, 416, 0, 0},
	    /* malformed, invalid or several ranges: the whole file */
	    {"", 1000, 200, 0, 0},
	    {"bytes=5-1", 1000, 200, 0, 0},
	    {"bytes=abc", 1000, 200, 0, 0},
	    {"bytes=", 1000, 200, 0, 0},
	    {"bytes=-", 1000, 200, 0, 0},
	    {"bytes=--5", 1000, 200, 0, 0},
	    {"bytes=-5-10", 1000, 200, 0, 0},
	    {"bytes=+5-10", 1000, 200, 0, 0},
	    {"bytes=1 -2", 1000, 200, 0, 0},
	    {"bytes=0x10-20", 1000, 200, 0, 0},
	    {"bytes=0-1,5-6", 1000, 200, 0, 0},
	    {"bytes=0-1, 5-6", 1000, 200, 0, 0},
	    {"bytes=0-1,", 1000, 200, 0, 0},
	    {"bytes 0-1", 1000, 200, 0, 0},
	    {"items=0-1", 1000, 200, 0, 0},
	    {"bytesx=0-1", 1000, 200, 0, 0},
	    {"bytes=0-1\r\nX: y", 1000, 200, 0, 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct range_case *c = &cases[i];
		uint64_t off = 77, len = 77;
		uint16_t st =
		    ch_httpd_parse_range(c->value, c->size, &off, &len);
		if (st != c->status)
			fail_msg("\"%s\" of %llu: %u, want %u",
			         c->value ? c->value : "(none)",
			         (unsigned long long)c->size, st, c->status);
		if (st == 206) {
			assert_int_equal(off, c->off);
			assert_int_equal(len, c->len);
			assert_true(off + len <= c->size);
		}
	}
}

/* ---- fixture ---- */

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct sa laddr, bound;
	if (!f)
		return -1;
	sa_set_str(&laddr, "127.0.0.1", 0);
	if (api_stack_open(&f->s, "ch-apirec", &laddr))
		return -1;
	snprintf(f->rec_dir, sizeof(f->rec_dir), "%s/recordings", f->s.dir);
	if (mkdir(f->rec_dir, 0750) || ch_api_local(f->s.api, &bound))
		return -1;
	f->port = sa_port(&bound);
	ch_api_recordings_dir_set(f->s.api, f->rec_dir);
	api_add_customer(f->s.st, TOKEN, f->cust);
	api_add_customer(f->s.st, TOKEN_B, f->cust_b);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	api_stack_close(&f->s);
	free(f);
	return 0;
}

/* Byte i of the test files: not periodic at any small step. */
static uint8_t pattern(uint64_t i)
{
	return (uint8_t)((i * 2654435761u) >> 13 ^ i >> 9);
}

/* Writes <rec_dir>/<id>.wav of size bytes. */
static void write_file(struct fix *f, const char *id, size_t size)
{
	char path[512];
	uint8_t *b = malloc(size ? size : 1);
	assert_non_null(b);
	for (size_t i = 0; i < size; i++)
		b[i] = pattern(i);
	snprintf(path, sizeof(path), "%s/%s.wav", f->rec_dir, id);
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(b, 1, size, fp), size);
	fclose(fp);
	free(b);
}

/* Inserts a recording of cust with status; its id into id. file >= 0:
 * also writes its file of that many bytes. */
static void add_rec(struct fix *f, const char *cust, const char *conf,
                    int64_t tm_create, const char *status, long file, char *id)
{
	struct ch_recording r;
	memset(&r, 0, sizeof(r));
	ch_uuid_new(r.id);
	snprintf(r.customer_id, sizeof(r.customer_id), "%s", cust);
	snprintf(r.reference_type, sizeof(r.reference_type), "conference");
	snprintf(r.reference_id, sizeof(r.reference_id), "%s", conf);
	snprintf(r.status, sizeof(r.status), "%s", status);
	snprintf(r.format, sizeof(r.format), "wav");
	r.tracks = true;
	r.channels = strdup("[{\"index\":1,\"kind\":\"mix\"},{\"index\":2,"
	                    "\"kind\":\"participant\",\"conferencecall_id\":"
	                    "\"x\",\"caller_id\":\"alice\"}]");
	r.rate = 16000;
	r.duration_ms = 1500;
	r.size = 1000;
	r.tm_start = tm_create + 1;
	r.tm_end = strcmp(status, "recording") ? tm_create + 2 : 0;
	r.tm_create = r.tm_update = tm_create;
	r.tm_delete = 0;
	assert_int_equal(f->s.st->ops->recording_insert(f->s.st, &r), 0);
	memcpy(id, r.id, CH_UUID_LEN);
	ch_recording_clear(&r);
	if (file >= 0)
		write_file(f, id, (size_t)file);
}

static bool file_exists(struct fix *f, const char *id)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s.wav", f->rec_dir, id);
	return access(path, F_OK) == 0;
}

static void path_of(char *buf, size_t len, const char *id, const char *tail)
{
	snprintf(buf, len, "/v1.0/recordings/%s%s", id, tail);
}

/* ---- JSON routes ---- */

static void test_list_get(void **state)
{
	struct fix *f = *state;
	char a1[CH_UUID_LEN], a2[CH_UUID_LEN], a3[CH_UUID_LEN];
	char gone[CH_UUID_LEN], b1[CH_UUID_LEN], path[128];
	json_t *o, *arr, *it;

	add_rec(f, f->cust, CONF_1, 1000000, "stopped", -1, a1);
	add_rec(f, f->cust, CONF_2, 2000000, "stopped", -1, a2);
	add_rec(f, f->cust, CONF_1, 3000000, "recording", -1, a3);
	add_rec(f, f->cust, CONF_1, 2500000, "stopped", -1, gone);
	add_rec(f, f->cust_b, CONF_1, 2600000, "stopped", -1, b1);
	path_of(path, sizeof(path), gone, "");
	assert_int_equal(api_req(f->s.api, "DELETE", path, NULL, BEARER, &o),
	                 200);
	json_decref(o);

	assert_int_equal(
	    api_req(f->s.api, "GET", "/v1.0/recordings", NULL, BEARER, &o),
	    200);
	arr = json_object_get(o, "result");
	assert_int_equal(json_array_size(arr), 3);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(arr, 0), "id")),
	    a3);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(arr, 2), "id")),
	    a1);
	/* fewer than a page: no next token */
	assert_string_equal(
	    json_string_value(json_object_get(o, "next_page_token")), "");
	/* the resource of API.md */
	it = json_array_get(arr, 0);
	assert_string_equal(json_string_value(json_object_get(it, "status")),
	                    "recording");
	assert_string_equal(
	    json_string_value(json_object_get(it, "reference_type")),
	    "conference");
	assert_string_equal(
	    json_string_value(json_object_get(it, "reference_id")), CONF_1);
	assert_string_equal(
	    json_string_value(json_object_get(it, "customer_id")), f->cust);
	assert_string_equal(json_string_value(json_object_get(it, "format")),
	                    "wav");
	assert_true(json_is_true(json_object_get(it, "tracks")));
	assert_int_equal(json_integer_value(json_object_get(it, "rate")),
	                 16000);
	assert_int_equal(json_integer_value(json_object_get(it, "duration_ms")),
	                 1500);
	assert_int_equal(json_integer_value(json_object_get(it, "size")), 1000);
	json_t *ch = json_object_get(it, "channels");
	assert_true(json_is_array(ch));
	assert_int_equal(json_array_size(ch), 2);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(ch, 1), "caller_id")),
	                    "alice");
	assert_string_equal(json_string_value(json_object_get(it, "tm_end")),
	                    CH_TIME_NEVER);
	assert_string_equal(json_string_value(json_object_get(it, "tm_delete")),
	                    CH_TIME_NEVER);
	assert_string_equal(json_string_value(json_object_get(it, "tm_create")),
	                    "1970-01-01 00:00:03.000000");
	assert_string_equal(json_string_value(json_object_get(it, "tm_start")),
	                    "1970-01-01 00:00:03.000001");
	json_decref(o);

	/* pages of 2 */
	assert_int_equal(api_req(f->s.api, "GET", "/v1.0/recordings",
	                         "page_size=2", BEARER, &o),
	                 200);
	assert_int_equal(json_array_size(json_object_get(o, "result")), 2);
	char q[128];
	snprintf(q, sizeof(q), "page_size=2&page_token=%s",
	         json_string_value(json_object_get(o, "next_page_token")));
	json_decref(o);
	assert_int_equal(
	    api_req(f->s.api, "GET", "/v1.0/recordings", q, BEARER, &o), 200);
	arr = json_object_get(o, "result");
	assert_int_equal(json_array_size(arr), 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(arr, 0), "id")),
	    a1);
	json_decref(o);
	api_expect_error(f->s.api, "GET", "/v1.0/recordings", "page_size=0",
	                 BEARER, 400, "invalid_field");

	/* one conference's */
	assert_int_equal(api_req(f->s.api, "GET", "/v1.0/recordings",
	                         "reference_id=" CONF_2, BEARER, &o),
	                 200);
	arr = json_object_get(o, "result");
	assert_int_equal(json_array_size(arr), 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(arr, 0), "id")),
	    a2);
	json_decref(o);
	api_expect_error(f->s.api, "GET", "/v1.0/recordings",
	                 "reference_id=../x", BEARER, 400, "invalid_field");

	/* get: own 200; another tenant's, deleted, unknown 404 */
	path_of(path, sizeof(path), a2, "");
	assert_int_equal(api_req(f->s.api, "GET", path, NULL, BEARER, &o), 200);
	assert_string_equal(json_string_value(json_object_get(o, "id")), a2);
	json_decref(o);
	path_of(path, sizeof(path), b1, "");
	api_expect_error(f->s.api, "GET", path, NULL, BEARER, 404, "not_found");
	assert_int_equal(
	    api_req(f->s.api, "GET", path, NULL, "Bearer " TOKEN_B, &o), 200);
	json_decref(o);
	path_of(path, sizeof(path), gone, "");
	api_expect_error(f->s.api, "GET", path, NULL, BEARER, 404, "not_found");
	path_of(path, sizeof(path), "dddddddd-0000-4000-8000-000000000009", "");
	api_expect_error(f->s.api, "GET", path, NULL, BEARER, 404, "not_found");
	api_expect_error(f->s.api, "GET", "/v1.0/recordings", NULL, NULL, 401,
	                 "unauthorized");
}

static void test_delete(void **state)
{
	struct fix *f = *state;
	char live[CH_UUID_LEN], done[CH_UUID_LEN], b1[CH_UUID_LEN], path[128];
	json_t *o;

	add_rec(f, f->cust, CONF_1, 1000, "recording", 100, live);
	add_rec(f, f->cust, CONF_1, 2000, "stopped", 100, done);
	add_rec(f, f->cust_b, CONF_1, 3000, "stopped", 100, b1);

	path_of(path, sizeof(path), live, "");
	api_expect_error(f->s.api, "DELETE", path, NULL, BEARER, 409,
	                 "recording_in_progress");
	assert_true(file_exists(f, live));

	/* another tenant's: 404, and its file stays */
	path_of(path, sizeof(path), b1, "");
	api_expect_error(f->s.api, "DELETE", path, NULL, BEARER, 404,
	                 "not_found");
	assert_true(file_exists(f, b1));

	path_of(path, sizeof(path), done, "");
	int64_t before = ch_time_now_us();
	assert_int_equal(api_req(f->s.api, "DELETE", path, NULL, BEARER, &o),
	                 200);
	assert_string_equal(json_string_value(json_object_get(o, "id")), done);
	int64_t tm_delete;
	assert_int_equal(
	    ch_time_parse(json_string_value(json_object_get(o, "tm_delete")),
	                  &tm_delete),
	    0);
	assert_true(tm_delete >= before && tm_delete < CH_TIME_NEVER_US);
	json_decref(o);
	assert_false(file_exists(f, done));
	api_expect_error(f->s.api, "DELETE", path, NULL, BEARER, 404,
	                 "not_found");
	api_expect_error(f->s.api, "GET", path, NULL, BEARER, 404, "not_found");
	path_of(path, sizeof(path), done, "/file");
	api_expect_error(f->s.api, "GET", path, NULL, BEARER, 404, "not_found");

	/* a stopped recording whose file is already gone deletes fine, and
	 * what a failed assembly left (parts, a .tmp file) goes with it */
	add_rec(f, f->cust, CONF_1, 4000, "stopped", -1, done);
	char parts[512], part[600], tmp[512];
	snprintf(parts, sizeof(parts), "%s/%s.parts", f->rec_dir, done);
	snprintf(part, sizeof(part), "%s/ch1.raw", parts);
	snprintf(tmp, sizeof(tmp), "%s/%s.wav.tmp", f->rec_dir, done);
	assert_int_equal(mkdir(parts, 0755), 0);
	FILE *pf = fopen(part, "w"), *tf = fopen(tmp, "w");
	assert_non_null(pf);
	assert_non_null(tf);
	fclose(pf);
	fclose(tf);
	path_of(path, sizeof(path), done, "");
	assert_int_equal(api_req(f->s.api, "DELETE", path, NULL, BEARER, &o),
	                 200);
	json_decref(o);
	assert_int_not_equal(access(parts, F_OK), 0);
	assert_int_not_equal(access(tmp, F_OK), 0);

	assert_int_equal(
	    api_req(f->s.api, "GET", "/v1.0/recordings", NULL, BEARER, &o),
	    200);
	assert_int_equal(json_array_size(json_object_get(o, "result")), 1);
	json_decref(o);
}

/* The file route through ch_api_handle (no socket): its checks. */
static void test_file_checks(void **state)
{
	struct fix *f = *state;
	char live[CH_UUID_LEN], nofile[CH_UUID_LEN], ok[CH_UUID_LEN];
	char b1[CH_UUID_LEN], path[128];
	json_t *o;

	add_rec(f, f->cust, CONF_1, 1000, "recording", 10, live);
	add_rec(f, f->cust, CONF_1, 2000, "stopped", -1, nofile);
	add_rec(f, f->cust, CONF_1, 3000, "stopped", 12345, ok);
	add_rec(f, f->cust_b, CONF_1, 4000, "stopped", 10, b1);

	path_of(path, sizeof(path), live, "/file");
	api_expect_error(f->s.api, "GET", path, NULL, BEARER, 409,
	                 "recording_in_progress");
	path_of(path, sizeof(path), nofile, "/file");
	api_expect_error(f->s.api, "GET", path, NULL, BEARER, 404,
	                 "file_not_found");
	path_of(path, sizeof(path), b1, "/file");
	api_expect_error(f->s.api, "GET", path, NULL, BEARER, 404, "not_found");
	path_of(path, sizeof(path), ok, "/file");
	assert_int_equal(api_req(f->s.api, "GET", path, NULL, BEARER, &o), 200);
	assert_int_equal(json_integer_value(json_object_get(o, "length")),
	                 12345);
	assert_string_equal(
	    json_string_value(json_object_get(o, "content_type")), "audio/wav");
	json_decref(o);
	api_expect_error(f->s.api, "POST", path, NULL, BEARER, 405,
	                 "method_not_allowed");

	/* a folder in place of the file is no file */
	char p[512];
	snprintf(p, sizeof(p), "%s/%s.wav", f->rec_dir, nofile);
	assert_int_equal(mkdir(p, 0750), 0);
	path_of(path, sizeof(path), nofile, "/file");
	api_expect_error(f->s.api, "GET", path, NULL, BEARER, 404,
	                 "file_not_found");
}

/* ---- the file over a socket ---- */

struct cli {
	int fd;
	uint8_t *buf;
	size_t n, cap;
	bool closed;
};

static void cli_open(struct fix *f, struct cli *c, int rcvbuf)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons(f->port)};
	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(c->fd >= 0);
	if (rcvbuf)
		assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF,
		                            &rcvbuf, sizeof(rcvbuf)),
		                 0);
	assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &a.sin_addr), 1);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(fcntl(c->fd, F_SETFL, O_NONBLOCK), 0);
	c->cap = 1 << 16;
	c->buf = malloc(c->cap);
	assert_non_null(c->buf);
}

static void cli_close(struct cli *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
}

static void cli_send(struct cli *c, const char *s)
{
	assert_int_equal(send(c->fd, s, strlen(s), MSG_NOSIGNAL),
	                 (ssize_t)strlen(s));
}

/* Reads what is there, at most max bytes a call (a slow reader). */
static void cli_read(struct cli *c, size_t max)
{
	size_t got = 0;
	while (got < max && !c->closed) {
		if (c->n + 4096 > c->cap) {
			c->cap *= 2;
			c->buf = realloc(c->buf, c->cap);
			assert_non_null(c->buf);
		}
		size_t want = c->cap - c->n;
		if (want > max - got)
			want = max - got;
		ssize_t r = recv(c->fd, c->buf + c->n, want, 0);
		if (r > 0) {
			c->n += (size_t)r;
			got += (size_t)r;
		} else {
			c->closed =
			    r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
			return;
		}
	}
}

/* One answer parsed from the client's bytes. */
struct resp {
	unsigned status;
	char head[1024];
	const uint8_t *body;
	size_t len;
};

/* Parses the answer at *pos; false while incomplete. */
static bool resp_next(const struct cli *c, size_t *pos, struct resp *r)
{
	const uint8_t *p = c->buf + *pos;
	size_t left = c->n - *pos;
	const uint8_t *end = memmem(p, left, "\r\n\r\n", 4);
	if (!end)
		return false;
	size_t hlen = (size_t)(end - p) + 4;
	assert_true(hlen < sizeof(r->head));
	memcpy(r->head, p, hlen);
	r->head[hlen] = '\0';
	assert_int_equal(sscanf(r->head, "HTTP/1.1 %u", &r->status), 1);
	const char *cl = strstr(r->head, "Content-Length: ");
	assert_non_null(cl);
	r->len = strtoull(cl + 16, NULL, 10);
	if (left < hlen + r->len)
		return false;
	r->body = p + hlen;
	*pos += hlen + r->len;
	return true;
}

/* Turns the loop and reads until n answers are complete (or 10 s). */
static void read_answers(struct cli *c, struct resp *r, unsigned n,
                         size_t per_turn)
{
	for (int turn = 0; turn < 20000; turn++) {
		size_t pos = 0;
		unsigned k = 0;
		while (k < n && resp_next(c, &pos, &r[k]))
			k++;
		if (k == n)
			return;
		assert_false(c->closed);
		ch_test_run_ms(1);
		cli_read(c, per_turn);
	}
	fail_msg("answers not complete: %zu bytes", c->n);
}

static void assert_pattern(const uint8_t *b, uint64_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (b[i] != pattern(off + i))
			fail_msg("byte %llu differs",
			         (unsigned long long)(off + i));
}

static unsigned open_fds(void)
{
	unsigned n = 0;
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

#define BIG (3 * 1024 * 1024 + 17)

static void test_file_stream(void **state)
{
	struct fix *f = *state;
	char id[CH_UUID_LEN], rq[2048];
	struct cli c;
	struct resp r[4];

	add_rec(f, f->cust, CONF_1, 1000, "stopped", BIG, id);
	cli_open(f, &c, 32 * 1024);

	/* a range, the whole file, and a JSON request, pipelined in one
	 * write: answered in order */
	snprintf(rq, sizeof(rq),
	         "GET /v1.0/recordings/%s/file HTTP/1.1\r\nHost: x\r\n"
	         "Authorization: " BEARER "\r\nRange: bytes=0-99\r\n\r\n"
	         "GET /v1.0/recordings/%s/file HTTP/1.1\r\nHost: x\r\n"
	         "Authorization: " BEARER "\r\n\r\n"
	         "GET /v1.0/recordings/%s HTTP/1.1\r\nHost: x\r\n"
	         "Authorization: " BEARER "\r\n\r\n",
	         id, id, id);
	cli_send(&c, rq);
	read_answers(&c, r, 3, 48 * 1024);

	assert_int_equal(r[0].status, 206);
	assert_int_equal(r[0].len, 100);
	char want[128];
	snprintf(want, sizeof(want), "Content-Range: bytes 0-99/%d\r\n", BIG);
	assert_non_null(strstr(r[0].head, want));
	assert_non_null(strstr(r[0].head, "Content-Type: audio/wav\r\n"));
	assert_non_null(strstr(r[0].head, "Accept-Ranges: bytes\r\n"));
	snprintf(want, sizeof(want),
	         "Content-Disposition: attachment; filename=\"%s.wav\"\r\n",
	         id);
	assert_non_null(strstr(r[0].head, want));
	assert_pattern(r[0].body, 0, 100);

	assert_int_equal(r[1].status, 200);
	assert_int_equal(r[1].len, BIG);
	assert_null(strstr(r[1].head, "Content-Range"));
	assert_pattern(r[1].body, 0, BIG);

	assert_int_equal(r[2].status, 200);
	assert_non_null(strstr(r[2].head, "application/json"));
	assert_non_null(memmem(r[2].body, r[2].len, id, strlen(id)));

	/* a suffix, then an unsatisfiable range on the same connection */
	c.n = 0;
	snprintf(rq, sizeof(rq),
	         "GET /v1.0/recordings/%s/file HTTP/1.1\r\nHost: x\r\n"
	         "Authorization: " BEARER "\r\nRange: bytes=-1000\r\n\r\n"
	         "GET /v1.0/recordings/%s/file HTTP/1.1\r\nHost: x\r\n"
	         "Authorization: " BEARER "\r\nRange: bytes=%d-\r\n\r\n",
	         id, id, BIG);
	cli_send(&c, rq);
	read_answers(&c, r, 2, 1 << 20);
	assert_int_equal(r[0].status, 206);
	assert_int_equal(r[0].len, 1000);
	snprintf(want, sizeof(want), "Content-Range: bytes %d-%d/%d\r\n",
	         BIG - 1000, BIG - 1, BIG);
	assert_non_null(strstr(r[0].head, want));
	assert_pattern(r[0].body, BIG - 1000, 1000);
	assert_int_equal(r[1].status, 416);
	snprintf(want, sizeof(want), "Content-Range: bytes */%d\r\n", BIG);
	assert_non_null(strstr(r[1].head, want));
	assert_non_null(
	    memmem(r[1].body, r[1].len, "range_not_satisfiable", 21));

	/* Connection: close: the whole file, then the server closes */
	c.n = 0;
	snprintf(rq, sizeof(rq),
	         "GET /v1.0/recordings/%s/file HTTP/1.1\r\nHost: x\r\n"
	         "Authorization: " BEARER "\r\nConnection: close\r\n\r\n",
	         id);
	cli_send(&c, rq);
	read_answers(&c, r, 1, 1 << 20);
	assert_int_equal(r[0].len, BIG);
	assert_pattern(r[0].body, 0, BIG);
	for (int i = 0; i < 3000 && !c.closed; i++) {
		ch_test_run_ms(1);
		cli_read(&c, 1 << 20);
	}
	assert_true(c.closed);
	cli_close(&c);
}

/* A client that goes away in the middle of a file: the connection and
 * the file's descriptor are released. */
static void test_file_disconnect(void **state)
{
	struct fix *f = *state;
	char id[CH_UUID_LEN], rq[512];
	struct cli c;

	add_rec(f, f->cust, CONF_1, 1000, "stopped", BIG, id);
	ch_test_run_ms(5);
	unsigned fds = open_fds();
	cli_open(f, &c, 16 * 1024);
	snprintf(rq, sizeof(rq),
	         "GET /v1.0/recordings/%s/file HTTP/1.1\r\nHost: x\r\n"
	         "Authorization: " BEARER "\r\n\r\n",
	         id);
	cli_send(&c, rq);
	for (int i = 0; i < 50 && c.n < 200000; i++) {
		ch_test_run_ms(2);
		cli_read(&c, 16 * 1024);
	}
	assert_true(c.n > 0 && c.n < BIG);
	/* the server holds the file while it sends */
	assert_true(open_fds() >= fds + 2);
	assert_int_equal(ch_httpd_conn_count(f->s.api->httpd, NULL), 1);
	cli_close(&c);
	for (int i = 0; i < 500 && ch_httpd_conn_count(f->s.api->httpd, NULL);
	     i++)
		ch_test_run_ms(2);
	assert_int_equal(ch_httpd_conn_count(f->s.api->httpd, NULL), 0);
	assert_int_equal(open_fds(), fds);
}

/* A client that stops reading in the middle of a file is closed after
 * the idle timeout, and the file's descriptor released. */
/* A client that reads nothing of a file it asked for is closed after the
 * idle timeout, also while it keeps sending bytes (trickle). */
static void stalled_reader(void **state, bool trickle)
{
	struct fix *f = *state;
	char id[CH_UUID_LEN], rq[512];
	struct ch_httpd_limits lim = {.max_conns = 10,
	                              .max_conns_per_ip = 10,
	                              .head_timeout_ms = 1000,
	                              .idle_timeout_ms = 300};
	struct cli c;

	ch_api_limits_set(f->s.api, &lim);
	add_rec(f, f->cust, CONF_1, 1000, "stopped", BIG, id);
	ch_test_run_ms(5);
	unsigned fds = open_fds();
	cli_open(f, &c, 16 * 1024);
	snprintf(rq, sizeof(rq),
	         "GET /v1.0/recordings/%s/file HTTP/1.1\r\nHost: x\r\n"
	         "Authorization: " BEARER "\r\n\r\n",
	         id);
	cli_send(&c, rq);
	ch_test_run_ms(100);
	assert_int_equal(ch_httpd_conn_count(f->s.api->httpd, NULL), 1);
	assert_true(open_fds() >= fds + 2);
	/* nothing read: the send queue stays full past the idle timeout */
	for (int i = 0; i < 100 && ch_httpd_conn_count(f->s.api->httpd, NULL);
	     i++) {
		if (trickle)
			cli_send(&c, "x");
		ch_test_run_ms(20);
	}
	assert_int_equal(ch_httpd_conn_count(f->s.api->httpd, NULL), 0);
	assert_int_equal(open_fds(), fds + 1); /* the client's own socket */
	/* what the kernel still held is delivered, then the end: as the
	 * client drains its buffer the rest and the FIN come in */
	for (int i = 0; i < 200 && !c.closed; i++) {
		cli_read(&c, BIG);
		if (!c.closed)
			usleep(5000);
	}
	assert_true(c.closed);
	assert_true(c.n < BIG);
	cli_close(&c);
}

static void test_file_stalled_reader(void **state)
{
	stalled_reader(state, false);
}

static void test_file_stalled_reader_trickle(void **state)
{
	stalled_reader(state, true);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_range_parse),
	    T(test_list_get),
	    T(test_delete),
	    T(test_file_checks),
	    T(test_file_stream),
	    T(test_file_disconnect),
	    T(test_file_stalled_reader),
	    T(test_file_stalled_reader_trickle),
	};
	return cmocka_run_group_tests(tests, ch_test_re_group_setup,
	                              ch_test_re_group_teardown);
}

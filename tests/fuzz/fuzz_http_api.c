/*
 * fuzz_http_api.c: libFuzzer target for the HTTP request and JSON layer of
 * the REST API.
 *
 * The input is one raw HTTP request. It is parsed with libre's
 * http_msg_decode() (as src/api/httpd.c does); if it parses, its method,
 * path, query, Authorization header and body (Content-Length bytes, or
 * what is there) go to ch_api_handle() of the process-wide API instance
 * (api_instance.h) as src/api/api.c's connection handler would pass them.
 * The customer token is "fuzztoken"; paths may say "{conf}" and "{cc}" for
 * the last conference and participant created. Seeds:
 * tests/fuzz/corpus/http_api/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api_instance.h" /* first: it includes re_types.h */

#include <re_fmt.h>
#include <re_mbuf.h>
#include <re_mem.h>
#include <re_msg.h>
#include <re_http.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz *z = fz_get();
	struct http_msg *msg = NULL;
	struct mbuf *mb = mbuf_alloc(size ? size : 1);
	char method[16], path[FZ_PATH_MAX], auth[160], *query = NULL;
	const struct http_hdr *ah;
	size_t body_len;

	if (!mb)
		return 0;
	if (mbuf_write_mem(mb, data, size))
		goto out;
	mbuf_set_pos(mb, 0);
	if (http_msg_decode(&msg, mb, true))
		goto out;

	/* as httpd_req_h in src/api/api.c */
	pl_strcpy(&msg->met, method, sizeof(method));
	if (msg->path.l >= sizeof(path))
		goto out;
	pl_strcpy(&msg->path, path, sizeof(path));
	if (msg->prm.l > 1) {
		struct pl q = {msg->prm.p + 1, msg->prm.l - 1};
		if (pl_strdup(&query, &q))
			goto out;
	}
	ah = http_msg_hdr(msg, HTTP_HDR_AUTHORIZATION);
	if (ah)
		pl_strcpy(&ah->val, auth, sizeof(auth));
	body_len = mbuf_get_left(mb);
	if (body_len > msg->clen)
		body_len = msg->clen;

	(void)fz_request(z, method, path, query, ah ? auth : NULL,
	                 (const char *)mbuf_buf(mb), body_len);
out:
	mem_deref(query);
	mem_deref(msg);
	mem_deref(mb);
	return 0;
}

/*
 * sip_uri.c: validation of client-given SIP URIs (see sip_uri.h). libre
 * prints a dial-out's target and source verbatim into the request line,
 * To: and From:, so whatever passes here must not be able to add a header
 * or a parameter outside the URI.
 */
#include "core/sip_uri.h"

#include <re_types.h>
#include <re_fmt.h>
#include <re_uri.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

static int refuse(const char **why, const char *text)
{
	if (why)
		*why = text;
	return EINVAL;
}

/* The host[:port] of a decoded URI must come right after "scheme:" or
 * after the first '@' (a user being named then), and be all there is up
 * to the parameters, with a port of 1-65535 if any. libre's regular
 * expressions are not anchored, so this is checked on the text itself. */
static int check_hostport(const char *s, const struct uri *u, const char **why)
{
	struct pl hostport, host, port;
	const char *p = s + u->scheme.l + 1, *at = strchr(p, '@');
	const char *tail;

	if (at && (at == p || *p == ':'))
		return refuse(why, "names an empty user before @");
	hostport.p = at ? at + 1 : p;
	hostport.l = strcspn(hostport.p, "/;?");
	if (!hostport.l || !pl_isset(&u->host))
		return refuse(why, "names no host");
	if (uri_decode_hostport(&hostport, &host, &port) ||
	    pl_cmp(&host, &u->host) ||
	    host.p != hostport.p + (*hostport.p == '['))
		return refuse(why, "has a malformed host");
	/* nothing may follow the port (or the host) before ; or ? */
	tail = pl_isset(&port) ? port.p + port.l : host.p + host.l;
	if (*hostport.p == '[' && !pl_isset(&port) && *tail == ']')
		tail++;
	if (tail != hostport.p + hostport.l)
		return refuse(why, "has a malformed host or port");
	for (size_t i = 0; i < host.l; i++) {
		char c = host.p[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		          (c == ':' && *hostport.p == '[');
		if (!ok)
			return refuse(why, "has a malformed host");
	}
	if (pl_isset(&port)) {
		uint32_t v = pl_u32(&port);
		if (port.l > 5 || v < 1 || v > 65535)
			return refuse(why, "has a port outside 1-65535");
	}
	return 0;
}

int ch_sip_uri_check(const char *s, const char **why)
{
	struct uri u;
	struct pl pl;
	size_t len;

	if (!s)
		return refuse(why, "is missing");
	len = strlen(s);
	if (!len || len > CH_SIP_URI_MAX)
		return refuse(why, "must be 1 to 512 characters");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 0x7f)
			return refuse(why, "must not contain control "
			                   "characters, CR/LF, spaces or "
			                   "non-ASCII bytes (escape them "
			                   "as %XX)");
		if (c == '<' || c == '>' || c == '"')
			return refuse(why, "must not contain <, > or \"");
	}
	pl_set_str(&pl, s);
	if (uri_decode(&u, &pl) || u.scheme.p != s)
		return refuse(why, "is not a SIP URI");
	if (pl_strcasecmp(&u.scheme, "sip") && pl_strcasecmp(&u.scheme, "sips"))
		return refuse(why, "must start with sip: or sips:");
	if (pl_isset(&u.path))
		return refuse(why, "is not a SIP URI");
	if (pl_isset(&u.headers))
		return refuse(why, "must not carry URI headers (?...)");
	return check_hostport(s, &u, why);
}

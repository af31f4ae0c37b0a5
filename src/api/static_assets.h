/*
 * static_assets.h: the files chorusd serves outside the API prefix (the
 * operators' web console at /console), compiled into the binary from
 * src/web/ (cmake/embed.cmake), looked up by exact request path.
 *
 * Threading: the table is constant; any thread.
 */
#ifndef CH_STATIC_ASSETS_H
#define CH_STATIC_ASSETS_H

#include <stddef.h>

/* One served file: its request path, bytes, and content type. Static. */
struct ch_static_asset {
	const char *path;
	const unsigned char *data;
	const size_t *len; /* byte count (from the generated file) */
	const char *ctype;
};

/* The asset at path, or NULL. path is the request path as received (not
 * decoded); anything from a '?' on is ignored. Only exact paths of the
 * table match, so "..", percent-escapes or a path over 256 bytes never
 * name a file. */
const struct ch_static_asset *ch_static_assets_find(const char *path);

/* The response headers every asset is sent with (Content-Security-Policy,
 * X-Content-Type-Options, Cache-Control...): raw "Name: value\r\n" lines,
 * static text. */
const char *ch_static_assets_headers(void);

#endif

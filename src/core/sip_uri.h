/*
 * sip_uri.h: the one check of a SIP URI that a client hands us (the
 * target and source of a dial-out) before any of it is written into a
 * SIP message: libre's uri_decode must take it, the scheme must be sip: or
 * sips:, a host must be named, and no byte may end or split a header
 * (controls, CR/LF, spaces, non-ASCII, <, >, ").
 *
 * Pure functions; any thread.
 */
#ifndef CH_SIP_URI_H
#define CH_SIP_URI_H

#include <stddef.h>

/* Longest URI taken, in bytes. */
#define CH_SIP_URI_MAX 512

/* Returns 0 when s is a SIP URI we may dial or name as the caller, else
 * EINVAL with *why (when why is not NULL) set to a static sentence saying
 * what is wrong, for an API error message. */
int ch_sip_uri_check(const char *s, const char **why);

#endif

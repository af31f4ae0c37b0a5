/*
 * sip_sockbuf.c: a deep receive buffer on the SIP UDP sockets.
 *
 * A burst of requests (thousands of phones hanging up at once) arrives in
 * microseconds, while the control thread handles them one by one. With the
 * kernel's default buffer (about 200 KiB, some 150 datagrams on loopback)
 * the rest are dropped and each phone waits for its own retransmission,
 * seconds later. libre does not hand out the socket of a SIP transport,
 * so the sockets are found by their local address among this process's
 * descriptors. Called on the control thread at start-up only.
 */
#include "sip/sip_int.h"
#include "util/log.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Same family, address and port. */
static bool same_addr(const struct sockaddr_storage *ss, const struct sa *sa)
{
	struct sa x;
	if (sa_set_sa(&x, (const struct sockaddr *)ss))
		return false;
	return sa_cmp(&x, sa, SA_ALL);
}

/* Asks for bytes on fd: SO_RCVBUFFORCE first (allowed with
 * CAP_NET_ADMIN, it passes net.core.rmem_max), else SO_RCVBUF (capped
 * there). Returns what the kernel gave (it doubles the request for its
 * own bookkeeping and reports the doubled figure). */
static int grow(int fd, int bytes)
{
	int got = 0;
	socklen_t len = sizeof(got);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)))
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes,
		                 sizeof(bytes));
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len))
		return 0;
	return got;
}

unsigned ch_sip_sockbuf_grow(const struct sa *laddr, int bytes)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;
	int least = 0;
	if (!d) {
		ch_log_warn("sip",
		            "receive buffer left as it is: "
		            "/proc/self/fd: %s",
		            strerror(errno));
		return 0;
	}
	for (struct dirent *e; (e = readdir(d));) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int type = 0;
		socklen_t tlen = sizeof(type);
		if (*end || end == e->d_name || fd == dirfd(d))
			continue;
		if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &tlen) ||
		    type != SOCK_DGRAM)
			continue;
		if (getsockname((int)fd, (struct sockaddr *)&ss, &len) ||
		    !same_addr(&ss, laddr))
			continue;
		int got = grow((int)fd, bytes);
		if (!n || got < least)
			least = got;
		n++;
	}
	closedir(d);
	char where[64];
	(void)re_snprintf(where, sizeof(where), "%J", laddr);
	if (!n)
		ch_log_warn("sip",
		            "receive buffer left as it is: no UDP "
		            "socket on %s",
		            where);
	else if (least / 2 < bytes)
		ch_log_warn("sip",
		            "receive buffer of the SIP socket on %s: %d KiB "
		            "of the %d KiB asked (raise net.core.rmem_max, or "
		            "a burst of requests is partly dropped)",
		            where, least / 2 / 1024, bytes / 1024);
	else
		ch_log_debug("sip",
		             "receive buffer of the SIP socket on %s: "
		             "%d KiB",
		             where, least / 2 / 1024);
	return n;
}

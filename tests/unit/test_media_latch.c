/*
 * test_media_latch.c: the media engine's strict RTP source filter, its
 * RTP timeout / resume events and its room size, over real UDP on
 * loopback addresses (127.0.0.1 is the phone's and the SIP dialog's host,
 * 127.0.0.2 a stranger's, 127.0.0.3 a phone's private SDP address):
 *   - a stranger on another IP that sprays RTP before the phone's first
 *     packet is never taken and never sent to; the phone is heard at once;
 *   - a source on the dialog's IP but another port (a phone behind NAT,
 *     or a stranger there) is learned only after the probation of
 *     in-sequence packets, and dropped the moment the SDP address sends;
 *   - a re-INVITE that changes the SDP address moves the lock, one that
 *     keeps it does not;
 *   - RTCP from a stranger is ignored, before and after latching;
 *   - an RTP timeout is followed by a resumed event when packets return
 *     (and when the leg is restarted);
 *   - a room set to 1000 legs takes 1000 and refuses the 1001st (EXFULL),
 *     an unlimited one takes the engine limit, and the legs added first
 *     still carry media after the room's arrays have grown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <re_types.h>
#include <re_main.h>
#include <re_sa.h>
#include <re_list.h>
#include <re_tmr.h>

#include "media/engine.h"
#include "media/rtcp.h"
#include "media/rtp.h"

#define TIMEOUT_MS 400
#define PT         0 /* PCMU */
#define MAX_SOCKS  8

/* A UDP socket on one loopback address that sends RTP (or RTCP) to a leg
 * and counts the engine's RTP it receives. */
struct sock {
	int fd;
	struct sa addr;
	uint16_t seq;
	uint32_t ssrc;
	uint64_t rx_rtp;      /* RTP packets from the engine */
	uint32_t engine_ssrc; /* their SSRC */
};

static struct {
	struct ch_media_engine *eng;
	struct sock socks[MAX_SOCKS];
	size_t nsocks;
	struct tmr stop_tmr;
	int timeouts, resumed;
	uint32_t leg;     /* the leg whose events are counted */
	struct sa dialog; /* where the SIP dialog came from */
} T;

static void on_timeout(void *arg, uint32_t leg)
{
	(void)arg;
	if (leg == T.leg)
		T.timeouts++;
}

static void on_resumed(void *arg, uint32_t leg)
{
	(void)arg;
	if (leg == T.leg)
		T.resumed++;
}

static const struct ch_media_handlers handlers = {
    .rtp_timeout = on_timeout,
    .rtp_resumed = on_resumed,
};

static void sock_readable(int flags, void *arg)
{
	struct sock *s = arg;
	uint8_t buf[2048];
	struct ch_rtp_pkt p;

	(void)flags;
	for (;;) {
		ssize_t n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			return;
		if (ch_rtp_is_rtcp(buf, (size_t)n) ||
		    ch_rtp_parse(buf, (size_t)n, &p) != 0)
			continue;
		s->rx_rtp++;
		s->engine_ssrc = p.ssrc;
	}
}

/* A socket on ip, port 0: any. */
static struct sock *sock_add(const char *ip, uint16_t port)
{
	assert_true(T.nsocks < MAX_SOCKS);
	struct sock *s = &T.socks[T.nsocks++];
	memset(s, 0, sizeof(*s));
	s->ssrc = 0x5000 + (uint32_t)T.nsocks;
	s->seq = (uint16_t)(T.nsocks * 1000);
	s->fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(sa_set_str(&s->addr, ip, port), 0);
	assert_int_equal(bind(s->fd, &s->addr.u.sa, s->addr.len), 0);
	socklen_t len = sizeof(s->addr.u);
	assert_int_equal(getsockname(s->fd, &s->addr.u.sa, &len), 0);
	s->addr.len = len;
	assert_int_equal(fd_listen(s->fd, FD_READ, sock_readable, s), 0);
	return s;
}

/* Sends n PCMU packets (silence) from s to dst, in sequence; skip leaves
 * a gap of that many sequence numbers before them. */
static void send_rtp(struct sock *s, const struct sa *dst, unsigned n,
                     unsigned skip)
{
	uint8_t pkt[CH_RTP_HDR_LEN + 160];

	s->seq = (uint16_t)(s->seq + skip);
	for (unsigned i = 0; i < n; i++) {
		ch_rtp_hdr_write(pkt, false, PT, s->seq, s->seq * 160u,
		                 s->ssrc);
		s->seq++;
		memset(pkt + CH_RTP_HDR_LEN, 0xff, 160);
		assert_int_equal(
		    sendto(s->fd, pkt, sizeof(pkt), 0, &dst->u.sa, dst->len),
		    (ssize_t)sizeof(pkt));
	}
}

/* Sends an RR about the engine's stream (3 lost) from s to dst. */
static void send_rr(struct sock *s, const struct sa *dst, uint32_t about)
{
	uint8_t buf[CH_RTCP_MAX_PACKET];
	struct ch_rtcp_block b = {
	    .ssrc = about, .fraction = 64, .lost = 3, .ext_max = 100};
	int len = ch_rtcp_build_rr(buf, sizeof(buf), s->ssrc, &b, "t");
	assert_true(len > 0);
	assert_int_equal(
	    sendto(s->fd, buf, (size_t)len, 0, &dst->u.sa, dst->len), len);
}

static void stop_loop(void *arg)
{
	(void)arg;
	re_cancel();
}

static void run_for(unsigned ms)
{
	tmr_start(&T.stop_tmr, ms, stop_loop, NULL);
	re_main(NULL);
}

static void engine_start(uint16_t lo, uint16_t hi)
{
	struct ch_media_config cfg = {
	    .workers = 1,
	    .rtp_lo = lo,
	    .rtp_hi = hi,
	    .bind_ip = "127.0.0.1",
	    .rtp_timeout_ms = TIMEOUT_MS,
	};
	memset(&T, 0, sizeof(T));
	tmr_init(&T.stop_tmr);
	sa_set_str(&T.dialog, "127.0.0.1", 5060);
	assert_int_equal(ch_media_engine_alloc(&T.eng, &cfg, &handlers, NULL),
	                 0);
}

static int teardown(void **state)
{
	(void)state;
	tmr_cancel(&T.stop_tmr);
	ch_media_engine_free(T.eng);
	T.eng = NULL;
	for (size_t i = 0; i < T.nsocks; i++) {
		fd_close(T.socks[i].fd);
		close(T.socks[i].fd);
	}
	T.nsocks = 0;
	return 0;
}

/* PCMU sendrecv to SDP address remote, dialog from sig (NULL: unknown). */
static struct ch_media_leg_params pcmu(const struct sa *remote,
                                       const struct sa *sig)
{
	struct ch_media_leg_params p = {
	    .codec = CH_CODEC_PCMU,
	    .pt = PT,
	    .telev_pt = -1,
	    .dir = CH_DIR_SENDRECV,
	    .remote = (struct sa *)remote,
	    .sig_src = sig,
	};
	return p;
}

/* A started leg (pcmu()) in a new room; *local gets its RTP address. */
static uint32_t leg_new(const struct sa *remote, const struct sa *sig,
                        struct sa *local)
{
	uint32_t room, leg;
	struct ch_media_leg_params p = pcmu(remote, sig);
	assert_int_equal(ch_media_room_create(T.eng, &room), 0);
	assert_int_equal(ch_media_leg_alloc(T.eng, room, &leg, local), 0);
	assert_int_equal(ch_media_leg_start(T.eng, leg, &p), 0);
	run_for(60); /* the worker has the leg */
	return leg;
}

static void leg_restart(uint32_t leg, const struct sa *remote,
                        const struct sa *sig)
{
	struct ch_media_leg_params p = pcmu(remote, sig);
	assert_int_equal(ch_media_leg_start(T.eng, leg, &p), 0);
	run_for(60);
}

static struct ch_media_leg_stats stats(uint32_t leg)
{
	struct ch_media_leg_stats st;
	assert_int_equal(ch_media_leg_stats(T.eng, leg, &st), 0);
	return st;
}

/* Runs 100 ms, then zeroes the sockets' receive counts and runs ms more:
 * the counts then say where the engine sends now. */
static void settle_and_listen(unsigned ms)
{
	run_for(100);
	for (size_t i = 0; i < T.nsocks; i++)
		T.socks[i].rx_rtp = 0;
	run_for(ms);
}

/* A stranger on another IP sends before the phone: it is never taken nor
 * sent to; the phone is heard from its first packet. */
static void test_stranger_first(void **state)
{
	(void)state;
	engine_start(44000, 44099);
	struct sock *phone = sock_add("127.0.0.1", 0);
	struct sock *stranger = sock_add("127.0.0.2", 0);
	struct sa local;
	uint32_t leg = leg_new(&phone->addr, &T.dialog, &local);

	send_rtp(stranger, &local, 50, 0);
	settle_and_listen(200);
	struct ch_media_leg_stats st = stats(leg);
	assert_int_equal(st.packets_in, 0);
	assert_int_equal(st.packets_rejected, 50);
	assert_int_equal(stranger->rx_rtp, 0);
	assert_true(phone->rx_rtp > 0); /* the SDP address, meanwhile */

	send_rtp(phone, &local, 1, 0);
	run_for(50);
	assert_int_equal(stats(leg).packets_in, 1); /* no probation */
	send_rtp(stranger, &local, 20, 0);
	send_rtp(phone, &local, 9, 0);
	settle_and_listen(200);
	st = stats(leg);
	assert_int_equal(st.packets_in, 10);
	assert_int_equal(st.packets_rejected, 70);
	assert_int_equal(stranger->rx_rtp, 0);
	assert_true(phone->rx_rtp >= 5);
}

/* A source on the dialog's IP, other port: learned only after the
 * probation, then dropped the moment the SDP address sends. */
static void test_dialog_ip_probation(void **state)
{
	(void)state;
	engine_start(44100, 44199);
	struct sock *phone = sock_add("127.0.0.1", 0);
	struct sock *nat = sock_add("127.0.0.1", 0);   /* dialog IP */
	struct sock *other = sock_add("127.0.0.2", 0); /* not learnable */
	struct sa local;
	uint32_t leg = leg_new(&phone->addr, &T.dialog, &local);

	/* another IP: not learned however long it sends in sequence */
	send_rtp(other, &local, 10, 0);
	/* in sequence but broken by a gap: no probation passed */
	send_rtp(nat, &local, CH_MEDIA_LATCH_PROBATION - 1, 0);
	send_rtp(nat, &local, CH_MEDIA_LATCH_PROBATION - 1, 1);
	run_for(100);
	struct ch_media_leg_stats st = stats(leg);
	assert_int_equal(st.packets_in, 0);
	assert_int_equal(st.packets_rejected,
	                 10 + 2 * (CH_MEDIA_LATCH_PROBATION - 1));

	/* the probation's last packet latches: taken from then on, and the
	 * engine sends to it */
	send_rtp(nat, &local, 1, 0);
	run_for(50);
	assert_int_equal(stats(leg).packets_in, 1);
	send_rtp(nat, &local, 9, 0);
	settle_and_listen(200);
	assert_int_equal(stats(leg).packets_in, 10);
	assert_true(nat->rx_rtp >= 5);
	assert_int_equal(phone->rx_rtp, 0);

	/* the SDP address sends: locked to it, the learned one dropped */
	send_rtp(phone, &local, 1, 0);
	run_for(50);
	send_rtp(nat, &local, 30, 0);
	settle_and_listen(200);
	st = stats(leg);
	assert_int_equal(st.packets_in, 11);
	assert_int_equal(st.packets_rejected,
	                 10 + 2 * (CH_MEDIA_LATCH_PROBATION - 1) + 30);
	assert_true(phone->rx_rtp >= 5);
	assert_int_equal(nat->rx_rtp, 0);
}

/* A phone behind NAT (private SDP address, nobody there): learned from
 * the dialog's IP only; with no dialog address known, not at all. */
static void test_nat_phone(void **state)
{
	(void)state;
	engine_start(44200, 44299);
	struct sock *nat = sock_add("127.0.0.1", 0);
	struct sa sdp, local, local2;
	sa_set_str(&sdp, "127.0.0.3", 4000);
	uint32_t leg = leg_new(&sdp, &T.dialog, &local);
	uint32_t blind = leg_new(&sdp, NULL, &local2);

	send_rtp(nat, &local, 20, 0);
	send_rtp(nat, &local2, 20, 0);
	settle_and_listen(200);
	assert_int_equal(stats(leg).packets_in,
	                 20 - (CH_MEDIA_LATCH_PROBATION - 1));
	assert_int_equal(stats(blind).packets_in, 0);
	assert_int_equal(stats(blind).packets_rejected, 20);
	assert_true(nat->rx_rtp >= 5); /* from leg only */
}

/* A re-INVITE with a new SDP address moves the lock; one with the same
 * address keeps it. */
static void test_reinvite_moves_lock(void **state)
{
	(void)state;
	engine_start(44300, 44399);
	struct sock *a = sock_add("127.0.0.1", 0);
	struct sock *b = sock_add("127.0.0.1", 0);
	struct sa local;
	uint32_t leg = leg_new(&a->addr, &T.dialog, &local);

	send_rtp(a, &local, 5, 0);
	run_for(50);
	assert_int_equal(stats(leg).packets_in, 5);
	/* same address again (e.g. a hold re-INVITE): still locked to a */
	leg_restart(leg, &a->addr, &T.dialog);
	send_rtp(b, &local, 10, 0);
	settle_and_listen(200);
	assert_int_equal(stats(leg).packets_in, 5);
	assert_int_equal(b->rx_rtp, 0);
	assert_true(a->rx_rtp > 0);

	/* the SDP address becomes b's: b is taken at once, a dropped */
	leg_restart(leg, &b->addr, &T.dialog);
	send_rtp(b, &local, 1, 0);
	run_for(50);
	send_rtp(a, &local, 10, 0);
	send_rtp(b, &local, 4, 0);
	settle_and_listen(200);
	struct ch_media_leg_stats st = stats(leg);
	assert_int_equal(st.packets_in, 10);
	assert_int_equal(st.packets_rejected, 20);
	assert_true(b->rx_rtp >= 5);
	assert_int_equal(a->rx_rtp, 0);
}

/* RTCP from a stranger is ignored, before the phone's RTP and after. */
static void test_rtcp_stranger(void **state)
{
	(void)state;
	engine_start(44400, 44499);
	struct sock *phone = sock_add("127.0.0.1", 0);
	struct sock *phone_rtcp =
	    sock_add("127.0.0.1", (uint16_t)(sa_port(&phone->addr) + 1));
	struct sock *stranger = sock_add("127.0.0.2", 0);
	struct sa local, local_rtcp;
	uint32_t leg = leg_new(&phone->addr, &T.dialog, &local);
	local_rtcp = local;
	sa_set_port(&local_rtcp, (uint16_t)(sa_port(&local) + 1));

	run_for(100); /* the engine's SSRC, from what the phone gets */
	assert_true(phone->rx_rtp > 0);
	uint32_t ssrc = phone->engine_ssrc;

	send_rr(stranger, &local_rtcp, ssrc);
	run_for(50);
	struct ch_media_leg_stats st = stats(leg);
	assert_int_equal(st.remote_lost, 0);
	assert_int_equal(st.packets_rejected, 1);

	send_rtp(phone, &local, 5, 0);
	run_for(50);
	send_rr(stranger, &local_rtcp, ssrc);
	run_for(50);
	st = stats(leg);
	assert_int_equal(st.remote_lost, 0);
	assert_int_equal(st.packets_rejected, 2);

	send_rr(phone_rtcp, &local_rtcp, ssrc);
	run_for(50);
	assert_int_equal(stats(leg).remote_lost, 3);
}

/* RTP timeout, then resumed when packets come back; again; and a restart
 * of a timed-out leg reports it resumed too. */
static void test_timeout_resume(void **state)
{
	(void)state;
	engine_start(44500, 44599);
	struct sock *phone = sock_add("127.0.0.1", 0);
	struct sa local;
	T.leg = leg_new(&phone->addr, &phone->addr, &local);

	for (int round = 1; round <= 2; round++) {
		send_rtp(phone, &local, 5, 0);
		run_for(TIMEOUT_MS / 2);
		assert_int_equal(T.timeouts, round - 1);
		assert_int_equal(T.resumed, round - 1);
		run_for(TIMEOUT_MS + 200);
		assert_int_equal(T.timeouts, round);
		assert_int_equal(T.resumed, round - 1);
		send_rtp(phone, &local, 1, 0);
		run_for(100);
		assert_int_equal(T.resumed, round);
	}
	/* a stranger's packets are no sign of life */
	struct sock *stranger = sock_add("127.0.0.2", 0);
	run_for(TIMEOUT_MS + 200);
	assert_int_equal(T.timeouts, 3);
	send_rtp(stranger, &local, 10, 0);
	run_for(100);
	assert_int_equal(T.resumed, 2);
	/* a re-INVITE starts a new count: resumed, then timed out again */
	leg_restart(T.leg, &phone->addr, &phone->addr);
	run_for(50);
	assert_int_equal(T.resumed, 3);
	run_for(TIMEOUT_MS + 200);
	assert_int_equal(T.timeouts, 4);
}

/* Room size: max 1000 takes 1000 legs, the 1001st is EXFULL; no limit
 * means the engine limit; the first and last legs carry media after the
 * arrays have grown. */
static void test_room_size(void **state)
{
	(void)state;
	enum { PAIRS = CH_MEDIA_ROOM_MAX_LEGS + 100 };
	static uint32_t legs[CH_MEDIA_ROOM_MAX_LEGS + 1];
	struct rlimit rl;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < 2 * PAIRS + 100) {
		rl.rlim_cur = rl.rlim_max < 4 * PAIRS ? rl.rlim_max : 4 * PAIRS;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	if (rl.rlim_cur < 2 * PAIRS + 100)
		fail_msg("need %d descriptors, the hard limit is %llu",
		         2 * PAIRS + 100, (unsigned long long)rl.rlim_max);

	/* a range no e2e chorusd uses (their RTP is in 10000-32599), with
	 * 1,000 spare pairs: a port that some other process holds is skipped */
	engine_start(33000, (uint16_t)(33000 + 2 * (PAIRS + 1000) - 1));
	struct sock *first = sock_add("127.0.0.1", 0);
	struct sock *last = sock_add("127.0.0.1", 0);
	uint32_t room;
	struct sa local, first_local, last_local;
	assert_int_equal(ch_media_room_create(T.eng, &room), 0);
	assert_int_equal(ch_media_room_set_max(T.eng, room, 1000), 0);
	assert_int_equal(ch_media_room_set_max(T.eng, 999999, 1), ENOENT);
	struct ch_media_leg_params p = pcmu(NULL, NULL);

	for (unsigned i = 0; i < 1000; i++) {
		int err = ch_media_leg_alloc(T.eng, room, &legs[i], &local);
		if (err)
			fail_msg("leg %u of 1000: %s", i + 1, strerror(err));
		if (i == 0 || i == 999) {
			struct sock *s = i == 0 ? first : last;
			*(i == 0 ? &first_local : &last_local) = local;
			p.remote = &s->addr;
			assert_int_equal(ch_media_leg_start(T.eng, legs[i], &p),
			                 0);
		}
	}
	assert_int_equal(ch_media_leg_alloc(T.eng, room, &legs[1000], &local),
	                 EXFULL);

	/* both ends of the grown arrays are mixed: each hears the other.
	 * The worker takes the 1,000 legs in through its command ring, which
	 * may take a while on a loaded machine: send in rounds until both
	 * legs have counted packets (at most 10 s), then listen. */
	for (unsigned k = 0; k < 100 && (stats(legs[0]).packets_in < 5 ||
	                                 stats(legs[999]).packets_in < 5);
	     k++) {
		send_rtp(first, &first_local, 5, 0);
		send_rtp(last, &last_local, 5, 0);
		run_for(100);
	}
	assert_true(stats(legs[0]).packets_in >= 5);
	assert_true(stats(legs[999]).packets_in >= 5);
	uint64_t in0 = stats(legs[0]).packets_in;
	send_rtp(first, &first_local, 5, 0);
	send_rtp(last, &last_local, 5, 0);
	settle_and_listen(200);
	assert_true(stats(legs[0]).packets_in >= in0 + 5);
	assert_true(first->rx_rtp >= 5 && last->rx_rtp >= 5);

	/* no limit (max_participants 0): the engine limit */
	assert_int_equal(ch_media_room_set_max(T.eng, room, 0), 0);
	for (unsigned i = 1000; i < CH_MEDIA_ROOM_MAX_LEGS; i++)
		assert_int_equal(
		    ch_media_leg_alloc(T.eng, room, &legs[i], &local), 0);
	assert_int_equal(ch_media_leg_alloc(T.eng, room,
	                                    &legs[CH_MEDIA_ROOM_MAX_LEGS],
	                                    &local),
	                 EXFULL);
	/* lowering keeps the legs, refuses new ones; freeing one makes room
	 * again only below the new maximum */
	assert_int_equal(ch_media_room_set_max(T.eng, room, 1000), 0);
	ch_media_leg_free(T.eng, legs[5]);
	assert_int_equal(ch_media_leg_alloc(T.eng, room, &legs[5], &local),
	                 EXFULL);
	run_for(100);
	assert_true(stats(legs[0]).packets_in >= in0 + 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_stranger_first, teardown),
	    cmocka_unit_test_teardown(test_dialog_ip_probation, teardown),
	    cmocka_unit_test_teardown(test_nat_phone, teardown),
	    cmocka_unit_test_teardown(test_reinvite_moves_lock, teardown),
	    cmocka_unit_test_teardown(test_rtcp_stranger, teardown),
	    cmocka_unit_test_teardown(test_timeout_resume, teardown),
	    cmocka_unit_test_teardown(test_room_size, teardown),
	};
	assert_int_equal(libre_init(), 0);
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	libre_close();
	return rc;
}

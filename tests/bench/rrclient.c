/* rrclient MODE ADDR[,ADDR...] PORT SECONDS MAX_REQUESTS
 * Request/response client for the datapath benchmark: sends a small request
 * to each ADDR:PORT in turn and waits for the echo (tests/bench/rrd.c), one
 * at a time, for at most SECONDS and at most MAX_REQUESTS requests. MODE:
 *   tcp-short      a new connection per request (connect, request, answer,
 *                  close with an RST so no TIME_WAIT piles up);
 *   tcp-keepalive  one connection per address, opened before the clock starts;
 *   udp            one unconnected socket, a datagram per request;
 *   udp-flood      the same socket, up to WINDOW datagrams in flight, sent
 *                  and answered in batches: packets through the path per
 *                  second rather than one at a time (no latency).
 * Latency is timed per request (for tcp-short from connect() on); an answer
 * that does not come within TIMEOUT_MS, or (UDP) comes from another address
 * than the request went to, is an error (udp-flood: the datagrams
 * in flight when nothing answers for LOSS_MS are counted as lost). Prints one
 * JSON line: {"requests":N,"errors":N,"firstError":"E...","seconds":S,"rate":R,
 * "p50us":X,"p99us":Y,"lost":L}. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "bench_net.h"

#define MAX_SECONDS 3600
#define MAX_TARGETS 1024
#define LIMIT_REQUESTS 50000000L
#define TIMEOUT_MS 1000
#define REQ 32
#define WINDOW 256
#define BATCH 32
#define LOSS_MS 20

enum mode { TCP_SHORT, TCP_KEEPALIVE, UDP, UDP_FLOOD };

static int first_error;
static long errors;

static void note_error(int err)
{
	errors++;
	if (!first_error)
		first_error = err ? err : EPROTO;
}

static int socket_for(const struct target *t, int type)
{
	const struct timeval tv = { .tv_sec = TIMEOUT_MS / 1000, .tv_usec = (TIMEOUT_MS % 1000) * 1000 };
	const struct linger rst = { .l_onoff = 1, .l_linger = 0 };
	const int on = 1;
	int fd = socket(t->ss.ss_family, type | SOCK_CLOEXEC, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    (type == SOCK_STREAM && (setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst)) ||
				     setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on))))) {
		perror("socket");
		exit(1);
	}
	return fd;
}

/* One request on a connected stream; 0 when the whole echo came back. */
static int tcp_exchange(int fd, const char *req)
{
	char buf[REQ];
	size_t got = 0;

	if (write(fd, req, REQ) != REQ)
		return errno ? errno : EPIPE;
	while (got < REQ) {
		ssize_t n = read(fd, buf + got, REQ - got);

		if (n <= 0)
			return n == 0 ? ECONNRESET : errno;
		got += n;
	}
	return memcmp(buf, req, REQ) ? EPROTO : 0;
}

static int tcp_short(const struct target *t, const char *req)
{
	int fd = socket_for(t, SOCK_STREAM), err;

	err = connect(fd, (const struct sockaddr *)&t->ss, t->len) ? errno : tcp_exchange(fd, req);
	close(fd);
	return err;
}

/* Whether an answer came from the address and port it was sent to: a
 * proxy must turn the backend's answer back into the frontend's. */
static int from_target(const struct sockaddr_storage *from, socklen_t len, const struct target *t)
{
	return len == t->len && !memcmp(from, &t->ss, len);
}

/* Answers to earlier, timed-out requests are skipped: each carries its own
 * sequence number. An answer from elsewhere is an error (EREMOTE). */
static int udp_exchange(int fd, const struct target *t, const char *req)
{
	struct sockaddr_storage from;
	char buf[REQ];

	if (sendto(fd, req, REQ, 0, (const struct sockaddr *)&t->ss, t->len) != REQ)
		return errno;
	for (int tries = 0; tries < 16; tries++) {
		socklen_t len = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);

		if (n < 0)
			return errno;
		if (n == REQ && !memcmp(buf, req, REQ))
			return from_target(&from, len, t) ? 0 : EREMOTE;
	}
	return EPROTO;
}

/* Keeps up to WINDOW datagrams in flight to the targets in turn until `end`
 * or max answers; returns the answers, and the datagrams lost in *lost. */
static long udp_flood(int fd, const struct target *targets, int n_targets, long max, double end, long *lost)
{
	static struct sockaddr_storage from[BATCH];
	static struct mmsghdr msgs[BATCH];
	static struct iovec iov[BATCH];
	static char bufs[BATCH][REQ];
	long answered = 0, in_flight = 0;
	int next = 0;

	for (int i = 0; i < BATCH; i++) {
		memset(bufs[i], 'f', REQ);
		iov[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = REQ };
		msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	while (answered < max && now() < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n;

		if (in_flight + BATCH <= WINDOW) {
			const struct target *t = &targets[next++ % n_targets];

			for (int i = 0; i < BATCH; i++) {
				msgs[i].msg_hdr.msg_name = (void *)&t->ss;
				msgs[i].msg_hdr.msg_namelen = t->len;
			}
			n = sendmmsg(fd, msgs, BATCH, MSG_DONTWAIT);
			if (n > 0)
				in_flight += n;
		}
		for (int i = 0; i < BATCH; i++) {
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n > 0) {
			for (int i = 0; i < n; i++) {
				int ok = 0;

				for (int j = 0; j < n_targets && !ok; j++)
					ok = from_target(&from[i], msgs[i].msg_hdr.msg_namelen, &targets[j]);
				if (ok)
					answered++;
				else
					note_error(EREMOTE);
			}
			in_flight = in_flight > n ? in_flight - n : 0;
		} else if (in_flight + BATCH > WINDOW && poll(&pfd, 1, LOSS_MS) == 0) {
			*lost += in_flight;
			in_flight = 0;
		}
	}
	return answered;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

static float percentile(float *v, long n, double p)
{
	long rank = (long)(p / 100 * n + 0.999999);

	return n == 0 ? 0 : v[rank < 1 ? 0 : rank - 1];
}

int main(int argc, char **argv)
{
	static struct target targets[MAX_TARGETS];
	static int conns[MAX_TARGETS];
	long port, seconds, max_requests, requests = 0, lost = 0;
	int n_targets, udp_fd = -1;
	enum mode mode;
	double start, end, elapsed;
	float *lat;
	char req[REQ];

	if (argc != 6) {
		fprintf(stderr, "usage: %s tcp-short|tcp-keepalive|udp|udp-flood ADDR[,ADDR...] PORT SECONDS MAX_REQUESTS\n", argv[0]);
		return 2;
	}
	if (!strcmp(argv[1], "tcp-short"))
		mode = TCP_SHORT;
	else if (!strcmp(argv[1], "tcp-keepalive"))
		mode = TCP_KEEPALIVE;
	else if (!strcmp(argv[1], "udp"))
		mode = UDP;
	else if (!strcmp(argv[1], "udp-flood"))
		mode = UDP_FLOOD;
	else {
		fprintf(stderr, "%s: unknown mode %s\n", argv[0], argv[1]);
		return 2;
	}
	port = strtol(argv[3], NULL, 10);
	seconds = strtol(argv[4], NULL, 10);
	max_requests = strtol(argv[5], NULL, 10);
	n_targets = parse_targets(argv[2], port, targets, MAX_TARGETS);
	if (n_targets < 0 || seconds < 1 || seconds > MAX_SECONDS || max_requests < 1 || max_requests > LIMIT_REQUESTS) {
		fprintf(stderr, "%s: bad addresses (at most %d), port, seconds (1..%d) or count (1..%ld)\n", argv[0],
			MAX_TARGETS, MAX_SECONDS, LIMIT_REQUESTS);
		return 2;
	}
	lat = malloc(max_requests * sizeof(*lat));
	if (!lat) {
		perror("malloc");
		return 1;
	}
	if (mode == UDP || mode == UDP_FLOOD)
		udp_fd = socket_for(&targets[0], SOCK_DGRAM);
	for (int i = 0; mode == TCP_KEEPALIVE && i < n_targets; i++) {
		conns[i] = socket_for(&targets[i], SOCK_STREAM);
		if (connect(conns[i], (const struct sockaddr *)&targets[i].ss, targets[i].len)) {
			fprintf(stderr, "%s: connect %s: %s\n", argv[0], argv[2], strerror(errno));
			return 1;
		}
	}

	memset(req, 'r', sizeof(req));
	start = now();
	end = start + seconds;
	if (mode == UDP_FLOOD)
		requests = udp_flood(udp_fd, targets, n_targets, max_requests, end, &lost);
	for (long seq = 0; mode != UDP_FLOOD && requests + errors < max_requests && now() < end; seq++) {
		int i = seq % n_targets, err;
		double t0;

		memcpy(req, &seq, sizeof(seq));
		t0 = now();
		if (mode == TCP_SHORT)
			err = tcp_short(&targets[i], req);
		else if (mode == TCP_KEEPALIVE)
			err = tcp_exchange(conns[i], req);
		else
			err = udp_exchange(udp_fd, &targets[i], req);
		if (err)
			note_error(err);
		else
			lat[requests++] = (now() - t0) * 1e6;
		/* A broken keep-alive connection would only fail again. */
		if (err && mode == TCP_KEEPALIVE)
			break;
	}
	elapsed = now() - start;
	qsort(lat, requests, sizeof(*lat), cmp_float);
	printf("{\"requests\":%ld,\"errors\":%ld,\"firstError\":\"%s\",\"seconds\":%.3f,\"rate\":%.1f,\"p50us\":%.1f,\"p99us\":%.1f,\"lost\":%ld}\n",
	       requests, errors, first_error ? strerrorname_np(first_error) : "", elapsed, requests / elapsed,
	       mode == UDP_FLOOD ? 0 : percentile(lat, requests, 50), mode == UDP_FLOOD ? 0 : percentile(lat, requests, 99), lost);
	return 0;
}

/* flowrate tcp|udp ADDR PORT RATE SECONDS SRC_FIRST SRC_COUNT
 * The flow-rate benchmark's load: opens RATE new flows a second for SECONDS
 * against ADDR:PORT, each on a schedule of its own (flow i at i/RATE s), as
 * many in flight as it takes (non-blocking sockets, one epoll), each from
 * the next of SRC_COUNT consecutive IPv4 source addresses from SRC_FIRST.
 *   tcp: connect, a request, its echo (rrd.c), then a graceful close: our
 *        FIN, and the flow counts only once the server's FIN has come back,
 *        so both FINs went through the path under test.
 *   udp: a new socket per flow, one datagram, its echo from ADDR:PORT.
 * A flow not done within TIMEOUT_MS is a failure (ETIMEDOUT), as is any
 * error on the way (its errno). Prints one JSON line:
 * {"proto":"tcp","rate":R,"seconds":S,"scheduled":N,"attempted":N,"ok":N,
 *  "failed":N,"firstError":"E...","errors":{"E...":N},"achievedRate":X,
 *  "maxLagMs":L,"elapsed":S,"perSecond":{"ok":[...],"failed":[...]}}
 * where perSecond counts flows by the second of their schedule, and
 * maxLagMs is how far opening fell behind it. A flow is opened up to
 * MAX_LAG_S late, else not at all: attempted < scheduled says the generator
 * could not keep the rate, rather than measuring itself.
 *
 * Why several source addresses: the client closes first, so each of its TCP
 * flows holds its 4-tuple in TIME_WAIT for 60 s; one source address has
 * ip_local_port_range (28232 ports) per destination, about 470 flows/s. Many
 * addresses keep every flow a fresh 4-tuple, as distinct clients are, where
 * tcp_tw_reuse would reuse 4-tuples that the proxy under test still holds
 * state for, and test that instead. IP_BIND_ADDRESS_NO_PORT lets connect()
 * pick the port per destination rather than bind() per address. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>
#include "bench_net.h"

#define MAX_SECONDS 3600
#define MAX_RATE 200000L
#define MAX_SOURCES 1024
#define TIMEOUT_MS 2000
#define REQ 32
#define EVENTS 1024
/* Flows opened per turn of the loop at most, so that answers are read
 * between bursts when the schedule is behind. */
#define OPEN_BURST 64
/* Flows in flight at most: the rate times the timeout, with room. */
#define MAX_IN_FLIGHT (1 << 20)
#define MAX_ERRNO 256
/* How late a flow may still be opened. */
#define MAX_LAG_S 1.0
/* How long to wait for answers once every flow is open. */
#define IDLE_WAIT_S 0.01

enum proto { TCP, UDP };
enum step { FREE, CONNECTING, ANSWERING, CLOSING };

struct flow {
	enum step step;
	uint32_t second;
	uint64_t id;
	size_t got;
	double deadline;
};

/* Flows in the order they were opened, which is the order of their
 * deadlines: the head is the next to time out, unless it is already done
 * (its fd now another flow's, or free). */
struct pending {
	int fd;
	uint64_t id;
};

static enum proto proto;
static struct target target;
static struct sockaddr_in sources[MAX_SOURCES];
static int n_sources;
static struct flow *flows;
static int max_fds;
static struct pending *ring;
static long ring_head, ring_len;
static int ep;
static long ok_total, failed_total, in_flight;
static long errors_by[MAX_ERRNO];
static long *ok_at, *failed_at;
static int first_error;

static void count(struct flow *f, int err)
{
	if (err) {
		failed_total++;
		failed_at[f->second]++;
		errors_by[err < MAX_ERRNO ? err : 0]++;
		if (!first_error)
			first_error = err;
	} else {
		ok_total++;
		ok_at[f->second]++;
	}
}

static void finish(int fd, int err)
{
	count(&flows[fd], err);
	flows[fd].step = FREE;
	in_flight--;
	close(fd);
}

/* A flow's request names it: an answer meant for another flow is no answer. */
static void request_of(uint64_t id, char *req)
{
	memset(req, 'q', REQ);
	memcpy(req, &id, sizeof(id));
}

/* A socket from the next source address, or -errno. */
static int flow_socket(uint64_t id)
{
	const int on = 1;
	const struct sockaddr_in *src = &sources[id % n_sources];
	int fd = socket(AF_INET, (proto == TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if ((proto == TCP && setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof(on))) ||
	    bind(fd, (const struct sockaddr *)src, sizeof(*src))) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

static void open_flow(uint64_t id, uint32_t second, double t)
{
	struct flow tmp = { .second = second };
	struct epoll_event ev = { .events = proto == TCP ? EPOLLOUT : EPOLLIN };
	char req[REQ];
	int fd = flow_socket(id), err = 0;

	if (fd < 0) {
		count(&tmp, -fd);
		return;
	}
	if (fd >= max_fds || ring_len == MAX_IN_FLIGHT) {
		close(fd);
		count(&tmp, EMFILE);
		return;
	}
	flows[fd] = (struct flow){ .step = proto == TCP ? CONNECTING : ANSWERING, .second = second, .id = id,
				   .deadline = t + TIMEOUT_MS / 1000.0 };
	in_flight++;
	request_of(id, req);
	if (proto == TCP && connect(fd, (const struct sockaddr *)&target.ss, target.len) && errno != EINPROGRESS)
		err = errno;
	if (proto == UDP && sendto(fd, req, REQ, 0, (const struct sockaddr *)&target.ss, target.len) != REQ)
		err = errno;
	ev.data.fd = fd;
	if (!err && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		err = errno;
	if (err) {
		finish(fd, err);
		return;
	}
	ring[(ring_head + ring_len++) % MAX_IN_FLIGHT] = (struct pending){ .fd = fd, .id = id };
}

/* The socket's pending error; 0 when there is none. */
static int socket_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) ? errno : err;
}

/* Connected: the request goes, the answer is awaited. */
static void tcp_connected(int fd)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = fd };
	char req[REQ];
	int err = socket_error(fd);

	if (err) {
		finish(fd, err);
		return;
	}
	request_of(flows[fd].id, req);
	if (write(fd, req, REQ) != REQ) {
		finish(fd, errno ? errno : EIO);
		return;
	}
	flows[fd].step = ANSWERING;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev))
		finish(fd, errno);
}

/* The echo, then our FIN; done when the server's FIN comes back. */
static void tcp_readable(int fd)
{
	struct flow *f = &flows[fd];
	char buf[REQ], req[REQ];
	ssize_t n;

	for (;;) {
		n = read(fd, buf, f->step == ANSWERING ? REQ - f->got : sizeof(buf));
		if (n < 0) {
			if (errno != EAGAIN)
				finish(fd, errno);
			return;
		}
		if (f->step == CLOSING) {
			if (n == 0)
				finish(fd, 0);
			else
				finish(fd, EPROTO);
			return;
		}
		if (n == 0) {
			finish(fd, ECONNRESET);
			return;
		}
		request_of(f->id, req);
		if (memcmp(buf, req + f->got, n)) {
			finish(fd, EPROTO);
			return;
		}
		f->got += n;
		if (f->got == REQ) {
			f->step = CLOSING;
			if (shutdown(fd, SHUT_WR)) {
				finish(fd, errno);
				return;
			}
		}
	}
}

/* The answer must come from the address the request went to: a proxy must
 * turn the backend's answer back into the frontend's. */
static void udp_readable(int fd)
{
	struct sockaddr_storage from;
	socklen_t len = sizeof(from);
	char buf[REQ + 1], req[REQ];
	ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);

	if (n < 0) {
		if (errno != EAGAIN)
			finish(fd, errno);
		return;
	}
	request_of(flows[fd].id, req);
	if (len != target.len || memcmp(&from, &target.ss, len))
		finish(fd, EREMOTE);
	else
		finish(fd, n == REQ && !memcmp(buf, req, REQ) ? 0 : EPROTO);
}

static void on_event(const struct epoll_event *e)
{
	int fd = e->data.fd;
	struct flow *f = &flows[fd];

	if (f->step == FREE)
		return;
	if (proto == UDP) {
		if (e->events & EPOLLERR)
			finish(fd, socket_error(fd) ?: EIO);
		else
			udp_readable(fd);
		return;
	}
	if (f->step == CONNECTING) {
		tcp_connected(fd);
		return;
	}
	if (e->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		tcp_readable(fd);
}

/* Flows past their deadline fail; done ones leave the ring. */
static void expire(double now)
{
	while (ring_len > 0) {
		struct pending *p = &ring[ring_head];
		struct flow *f = &flows[p->fd];
		int live = f->step != FREE && f->id == p->id;

		if (live && f->deadline > now)
			return;
		if (live)
			finish(p->fd, ETIMEDOUT);
		ring_head = (ring_head + 1) % MAX_IN_FLIGHT;
		ring_len--;
	}
}

static const char *errno_name(int err)
{
	const char *name = err ? strerrorname_np(err) : "EUNKNOWN";

	return name ? name : "EUNKNOWN";
}

static void print_counts(const char *name, const long *v, long n)
{
	printf("\"%s\":[", name);
	for (long i = 0; i < n; i++)
		printf("%s%ld", i ? "," : "", v[i]);
	printf("]");
}

static void report(long rate, long seconds, long attempted, double elapsed, double max_lag)
{
	int first = 1;

	printf("{\"proto\":\"%s\",\"rate\":%ld,\"seconds\":%ld,\"scheduled\":%ld,\"attempted\":%ld,\"ok\":%ld,\"failed\":%ld,"
	       "\"firstError\":\"%s\",\"errors\":{",
	       proto == TCP ? "tcp" : "udp", rate, seconds, rate * seconds, attempted, ok_total, failed_total,
	       first_error ? errno_name(first_error) : "");
	for (int e = 0; e < MAX_ERRNO; e++) {
		if (!errors_by[e])
			continue;
		printf("%s\"%s\":%ld", first ? "" : ",", errno_name(e), errors_by[e]);
		first = 0;
	}
	printf("},\"achievedRate\":%.1f,\"maxLagMs\":%.1f,\"elapsed\":%.3f,\"perSecond\":{", attempted / (double)seconds,
	       max_lag * 1000, elapsed);
	print_counts("ok", ok_at, seconds);
	printf(",");
	print_counts("failed", failed_at, seconds);
	printf("}}\n");
}

static int parse_sources(const char *first, long count)
{
	struct in_addr a;

	if (inet_pton(AF_INET, first, &a) != 1 || count < 1 || count > MAX_SOURCES)
		return -1;
	for (long i = 0; i < count; i++) {
		sources[i] = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(ntohl(a.s_addr) + i) };
	}
	n_sources = count;
	return 0;
}

/* Room for every flow in flight: as many descriptors as the system allows. */
static int raise_fd_limit(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r))
		return -1;
	r.rlim_cur = r.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &r))
		return -1;
	max_fds = r.rlim_cur > MAX_IN_FLIGHT * 2L ? MAX_IN_FLIGHT * 2 : (int)r.rlim_cur;
	return 0;
}

int main(int argc, char **argv)
{
	struct epoll_event events[EVENTS];
	long port, rate, seconds, count_src;
	uint64_t next = 0, attempted = 0, scheduled;
	double start, t, max_lag = 0;

	if (argc != 8) {
		fprintf(stderr, "usage: %s tcp|udp ADDR PORT RATE SECONDS SRC_FIRST SRC_COUNT\n", argv[0]);
		return 2;
	}
	if (!strcmp(argv[1], "tcp"))
		proto = TCP;
	else if (!strcmp(argv[1], "udp"))
		proto = UDP;
	else {
		fprintf(stderr, "%s: protocol must be tcp or udp, got %s\n", argv[0], argv[1]);
		return 2;
	}
	port = strtol(argv[3], NULL, 10);
	rate = strtol(argv[4], NULL, 10);
	seconds = strtol(argv[5], NULL, 10);
	count_src = strtol(argv[7], NULL, 10);
	if (parse_target(argv[2], port, &target) || target.ss.ss_family != AF_INET || rate < 1 || rate > MAX_RATE ||
	    seconds < 1 || seconds > MAX_SECONDS || parse_sources(argv[6], count_src)) {
		fprintf(stderr, "%s: bad IPv4 address or port, rate (1..%ld), seconds (1..%d), or sources (an IPv4 address and 1..%d)\n",
			argv[0], MAX_RATE, MAX_SECONDS, MAX_SOURCES);
		return 2;
	}
	if (raise_fd_limit()) {
		perror("setrlimit");
		return 1;
	}
	flows = calloc(max_fds, sizeof(*flows));
	ring = calloc(MAX_IN_FLIGHT, sizeof(*ring));
	ok_at = calloc(seconds, sizeof(*ok_at));
	failed_at = calloc(seconds, sizeof(*failed_at));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!flows || !ring || !ok_at || !failed_at || ep < 0) {
		perror("flowrate");
		return 1;
	}

	scheduled = (uint64_t)rate * seconds;
	start = t = now();
	/* Open on schedule, then wait out the flows in flight. A flow that could
	 * not be opened within MAX_LAG_S of its time is not opened at all:
	 * attempted < scheduled says the generator could not keep the rate. */
	while (in_flight > 0 || next < scheduled) {
		struct timespec wait;
		double next_at;
		int n;

		for (int burst = 0; burst < OPEN_BURST && next < scheduled; next++) {
			double due = start + (double)next / rate;

			if (due > t)
				break;
			if (t - due > MAX_LAG_S)
				continue;
			if (t - due > max_lag)
				max_lag = t - due;
			open_flow(next, (uint32_t)(next / rate), t);
			attempted++;
			burst++;
		}
		/* Sleep to the next flow's time (to the microsecond: a
		 * millisecond timeout would spin or lag at 1000 flows/s). */
		next_at = next < scheduled ? start + (double)next / rate : t + IDLE_WAIT_S;
		next_at = next_at > t ? next_at - t : 0;
		wait = (struct timespec){ .tv_sec = (time_t)next_at, .tv_nsec = (long)((next_at - (time_t)next_at) * 1e9) };
		n = epoll_pwait2(ep, events, EVENTS, &wait, NULL);
		if (n < 0 && errno != EINTR) {
			perror("epoll_pwait2");
			return 1;
		}
		for (int i = 0; i < n; i++)
			on_event(&events[i]);
		t = now();
		expire(t);
	}
	report(rate, seconds, (long)attempted, now() - start, max_lag);
	return 0;
}

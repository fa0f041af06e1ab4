/* rrd PORT [MAX_SECONDS]
 * The datapath benchmark's one backend: it answers each TCP read on
 * [::]:PORT (IPv4 too) and each UDP datagram on 0.0.0.0:PORT with the same bytes, and closes a TCP
 * connection when its client does, so it serves connect-only clients,
 * short and keep-alive request/response alike. One thread, epoll. Prints
 * "listening" when ready and exits after MAX_SECONDS (default 1800), so a
 * forgotten one goes away. On SIGUSR1 it prints what it has served so far,
 * {"tcpAccepted":N,"udpAnswered":N}, so that a benchmark can count the
 * backend's side of its flows too. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "bench_net.h"

#define DEFAULT_MAX_SECONDS 1800
#define EVENTS 256
#define BUF 2048
#define UDP_BATCH 32

static long tcp_accepted, udp_answered;
static volatile sig_atomic_t counts_asked;

static void ask_counts(int sig)
{
	(void)sig;
	counts_asked = 1;
}

static int watch(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* IPv4 only: the backend owns a whole range of addresses, and each answer
 * must come from the address its request was sent to (IP_PKTINFO) or a
 * proxy that translated the request would not recognise it. */
static int udp_socket(long port)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY) };
	const int on = 1;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) ||
	    bind(fd, (struct sockaddr *)&addr, sizeof(addr)))
		return -1;
	return fd;
}

/* In batches: a flood of datagrams (rrclient udp-flood) costs the server
 * two calls per batch rather than two per datagram. */
static void answer_udp(int fd)
{
	static struct sockaddr_in from[UDP_BATCH];
	static struct mmsghdr msgs[UDP_BATCH];
	static struct iovec iov[UDP_BATCH];
	static char bufs[UDP_BATCH][BUF];
	static char ctl[UDP_BATCH][CMSG_SPACE(sizeof(struct in_pktinfo))];

	for (;;) {
		int n;

		for (int i = 0; i < UDP_BATCH; i++) {
			iov[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = BUF };
			msgs[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof(from[i]), .msg_iov = &iov[i],
							   .msg_iovlen = 1, .msg_control = ctl[i], .msg_controllen = sizeof(ctl[i]) };
		}
		n = recvmmsg(fd, msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr);

			iov[i].iov_len = msgs[i].msg_len;
			if (c && c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo *pi = (struct in_pktinfo *)CMSG_DATA(c);

				pi->ipi_spec_dst = pi->ipi_addr;
				pi->ipi_ifindex = 0;
				msgs[i].msg_hdr.msg_controllen = CMSG_SPACE(sizeof(*pi));
			} else {
				msgs[i].msg_hdr.msg_controllen = 0;
			}
		}
		n = sendmmsg(fd, msgs, n, MSG_DONTWAIT);
		if (n > 0)
			udp_answered += n;
	}
}

static void accept_all(int ep, int lfd)
{
	for (;;) {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (c < 0)
			return;
		tcp_accepted++;
		if (watch(ep, c))
			close(c);
	}
}

/* Echoes what is there; closes on the client's FIN or RST. */
static void answer_tcp(int fd)
{
	char buf[BUF];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n > 0 && write(fd, buf, n) == n)
		return;
	if (n < 0 && errno == EAGAIN)
		return;
	close(fd);
}

int main(int argc, char **argv)
{
	struct epoll_event events[EVENTS];
	sigset_t usr1, waiting;
	long port, max_seconds;
	int ep, lfd, ufd, bad = server_args(argc, argv, DEFAULT_MAX_SECONDS, &port, &max_seconds);

	if (bad)
		return bad;
	lfd = server_socket(SOCK_STREAM | SOCK_NONBLOCK, port);
	ufd = udp_socket(port);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (lfd < 0 || ufd < 0 || ep < 0 || watch(ep, lfd) || watch(ep, ufd)) {
		perror("rrd");
		return 1;
	}
	/* SIGUSR1 is let in only while epoll_pwait waits (no SA_RESTART: it
	 * returns EINTR), so a request is never left unanswered until the next
	 * event. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &usr1, &waiting) || sigdelset(&waiting, SIGUSR1) || sigaction(SIGUSR1, &(struct sigaction){ .sa_handler = ask_counts }, NULL)) {
		perror("sigaction");
		return 1;
	}
	/* SIGALRM's default action ends the process. */
	alarm(max_seconds);
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int n = epoll_pwait(ep, events, EVENTS, -1, &waiting);

		if (counts_asked) {
			counts_asked = 0;
			printf("{\"tcpAccepted\":%ld,\"udpAnswered\":%ld}\n", tcp_accepted, udp_answered);
			fflush(stdout);
		}
		if (n < 0 && errno != EINTR) {
			perror("epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			int fd = events[i].data.fd;

			if (fd == lfd)
				accept_all(ep, lfd);
			else if (fd == ufd)
				answer_udp(ufd);
			else
				answer_tcp(fd);
		}
	}
}

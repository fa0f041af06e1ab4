/* rrd PORT [MAX_SECONDS]
 * The datapath benchmark's one backend: on [::]:PORT (IPv4 too) it answers
 * each TCP read and each UDP datagram with the same bytes, and closes a TCP
 * connection when its client does, so it serves connect-only clients,
 * short and keep-alive request/response alike. One thread, epoll. Prints
 * "listening" when ready and exits after MAX_SECONDS (default 1800), so a
 * forgotten one goes away. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_MAX_SECONDS 1800
#define BACKLOG 4096
#define EVENTS 256
#define BUF 2048

static int bound_socket(int type, long port)
{
	struct sockaddr_in6 addr = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT, .sin6_port = htons(port) };
	const int off = 0, on = 1;
	int fd = socket(AF_INET6, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
	    bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || (type == SOCK_STREAM && listen(fd, BACKLOG)))
		return -1;
	return fd;
}

static int watch(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void answer_udp(int fd)
{
	struct sockaddr_in6 from;
	char buf[BUF];

	for (;;) {
		socklen_t len = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);

		if (n < 0)
			return;
		sendto(fd, buf, n, 0, (struct sockaddr *)&from, len);
	}
}

static void accept_all(int ep, int lfd)
{
	for (;;) {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (c < 0)
			return;
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
	long port, max_seconds;
	int ep, lfd, ufd;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s PORT [MAX_SECONDS]\n", argv[0]);
		return 2;
	}
	port = strtol(argv[1], NULL, 10);
	max_seconds = argc == 3 ? strtol(argv[2], NULL, 10) : DEFAULT_MAX_SECONDS;
	if (port < 1 || port > 65535 || max_seconds < 1) {
		fprintf(stderr, "%s: bad port or seconds\n", argv[0]);
		return 2;
	}
	lfd = bound_socket(SOCK_STREAM, port);
	ufd = bound_socket(SOCK_DGRAM, port);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (lfd < 0 || ufd < 0 || ep < 0 || watch(ep, lfd) || watch(ep, ufd)) {
		perror("rrd");
		return 1;
	}
	/* SIGALRM's default action ends the process. */
	alarm(max_seconds);
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int n = epoll_wait(ep, events, EVENTS, -1);

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

/* What the benchmark's C tools share: the clock, parsing targets given as
 * IPv4 or IPv6 literals with one port, and the servers' arguments and socket. */
#ifndef KPR_BENCH_NET_H
#define KPR_BENCH_NET_H
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define SERVER_BACKLOG 4096

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct target {
	struct sockaddr_storage ss;
	socklen_t len;
};

static inline int parse_target(const char *addr, long port, struct target *t)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)&t->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&t->ss;

	memset(t, 0, sizeof(*t));
	if (port < 1 || port > 65535)
		return -1;
	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		t->len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		t->len = sizeof(*in6);
		return 0;
	}
	return -1;
}

/* "A,B,C" into at most max targets; returns how many, or -1. */
static inline int parse_targets(char *list, long port, struct target *out, int max)
{
	int n = 0;

	for (char *save = NULL, *a = strtok_r(list, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
		if (n == max || parse_target(a, port, &out[n]))
			return -1;
		n++;
	}
	return n > 0 ? n : -1;
}

/* A server's "PORT [MAX_SECONDS]"; 0, or 2 (the exit code) after saying what is wrong. */
static inline int server_args(int argc, char **argv, long default_max_seconds, long *port, long *max_seconds)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s PORT [MAX_SECONDS]\n", argv[0]);
		return 2;
	}
	*port = strtol(argv[1], NULL, 10);
	*max_seconds = argc == 3 ? strtol(argv[2], NULL, 10) : default_max_seconds;
	if (*port < 1 || *port > 65535 || *max_seconds < 1) {
		fprintf(stderr, "%s: bad port or seconds\n", argv[0]);
		return 2;
	}
	return 0;
}

/* A socket of type (with SOCK_* flags) bound to [::]:port, IPv4 too; a
 * stream one listening. -1 on failure, errno set. */
static inline int server_socket(int type, long port)
{
	struct sockaddr_in6 addr = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT, .sin6_port = htons(port) };
	const int off = 0, on = 1;
	int fd = socket(AF_INET6, type | SOCK_CLOEXEC, 0);

	if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
	    bind(fd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    ((type & 0xf) == SOCK_STREAM && listen(fd, SERVER_BACKLOG)))
		return -1;
	return fd;
}
#endif

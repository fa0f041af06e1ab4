/* What the benchmark's C clients share: the clock, and parsing targets
 * given as IPv4 or IPv6 literals with one port. */
#ifndef KPR_BENCH_NET_H
#define KPR_BENCH_NET_H
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

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
#endif

/* connrate ADDR PORT SECONDS [MAX_CONNECTS]
 * Opens and closes TCP connections to ADDR:PORT (IPv4 or IPv6) one after
 * another, for at most SECONDS and at most MAX_CONNECTS attempts, and prints
 * one JSON line: {"connects":N,"errors":N,"firstError":"E...","seconds":S,"rate":R}.
 * Each socket is closed with an RST (SO_LINGER 0): no TIME_WAIT piles up, so
 * a long run never exhausts local ports and every round costs the same. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAX_CONNECTS 10000000L
#define MAX_SECONDS 3600

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int parse_target(const char *addr, long port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
		return 0;
	}
	return -1;
}

int main(int argc, char **argv)
{
	const struct linger rst = { .l_onoff = 1, .l_linger = 0 };
	struct sockaddr_storage target;
	socklen_t target_len;
	long port, seconds, max_connects, connects = 0, errors = 0;
	int first_error = 0;
	double start, end, elapsed;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: %s ADDR PORT SECONDS [MAX_CONNECTS]\n", argv[0]);
		return 2;
	}
	port = strtol(argv[2], NULL, 10);
	seconds = strtol(argv[3], NULL, 10);
	max_connects = argc == 5 ? strtol(argv[4], NULL, 10) : DEFAULT_MAX_CONNECTS;
	if (parse_target(argv[1], port, &target, &target_len) || port < 1 || port > 65535 ||
	    seconds < 1 || seconds > MAX_SECONDS || max_connects < 1) {
		fprintf(stderr, "%s: bad address, port, seconds (1..%d) or count\n", argv[0], MAX_SECONDS);
		return 2;
	}

	start = now();
	end = start + seconds;
	while (connects + errors < max_connects && now() < end) {
		int fd = socket(target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0) {
			perror("socket");
			return 1;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst))) {
			perror("setsockopt SO_LINGER");
			return 1;
		}
		if (connect(fd, (struct sockaddr *)&target, target_len) == 0) {
			connects++;
		} else {
			errors++;
			if (!first_error)
				first_error = errno;
		}
		close(fd);
	}
	elapsed = now() - start;
	printf("{\"connects\":%ld,\"errors\":%ld,\"firstError\":\"%s\",\"seconds\":%.3f,\"rate\":%.1f}\n",
	       connects, errors, first_error ? strerrorname_np(first_error) : "", elapsed, connects / elapsed);
	return 0;
}

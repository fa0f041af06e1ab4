/* connrate ADDR[,ADDR...] PORT SECONDS [MAX_CONNECTS]
 * Opens and closes TCP connections to each ADDR:PORT in turn (IPv4 or IPv6)
 * one after another, for at most SECONDS and at most MAX_CONNECTS attempts, and prints
 * one JSON line: {"connects":N,"errors":N,"firstError":"E...","seconds":S,"rate":R}.
 * Each socket is closed with an RST (SO_LINGER 0): no TIME_WAIT piles up, so
 * a long run never exhausts local ports and every round costs the same. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "bench_net.h"

#define DEFAULT_MAX_CONNECTS 10000000L
#define MAX_SECONDS 3600
#define MAX_TARGETS 1024

int main(int argc, char **argv)
{
	const struct linger rst = { .l_onoff = 1, .l_linger = 0 };
	static struct target targets[MAX_TARGETS];
	long port, seconds, max_connects, connects = 0, errors = 0;
	int first_error = 0, n_targets;
	double start, end, elapsed;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: %s ADDR[,ADDR...] PORT SECONDS [MAX_CONNECTS]\n", argv[0]);
		return 2;
	}
	port = strtol(argv[2], NULL, 10);
	seconds = strtol(argv[3], NULL, 10);
	max_connects = argc == 5 ? strtol(argv[4], NULL, 10) : DEFAULT_MAX_CONNECTS;
	n_targets = parse_targets(argv[1], port, targets, MAX_TARGETS);
	if (n_targets < 0 || seconds < 1 || seconds > MAX_SECONDS || max_connects < 1) {
		fprintf(stderr, "%s: bad addresses (at most %d), port, seconds (1..%d) or count\n", argv[0], MAX_TARGETS, MAX_SECONDS);
		return 2;
	}

	start = now();
	end = start + seconds;
	while (connects + errors < max_connects && now() < end) {
		const struct target *t = &targets[(connects + errors) % n_targets];
		int fd = socket(t->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0) {
			perror("socket");
			return 1;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst))) {
			perror("setsockopt SO_LINGER");
			return 1;
		}
		if (connect(fd, (struct sockaddr *)&t->ss, t->len) == 0) {
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

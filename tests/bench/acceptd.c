/* acceptd PORT [MAX_SECONDS]
 * The cheapest possible backend for connrate: accepts TCP connections on
 * [::]:PORT (IPv4 too) and closes each at once. Prints "listening" when ready
 * and exits after MAX_SECONDS (default 600), so a forgotten one goes away. */
#include <errno.h>
#include <unistd.h>
#include "bench_net.h"

#define DEFAULT_MAX_SECONDS 600

int main(int argc, char **argv)
{
	long port, max_seconds;
	int fd, bad = server_args(argc, argv, DEFAULT_MAX_SECONDS, &port, &max_seconds);

	if (bad)
		return bad;
	fd = server_socket(SOCK_STREAM, port);
	if (fd < 0) {
		perror("acceptd");
		return 1;
	}
	/* SIGALRM's default action ends the process. */
	alarm(max_seconds);
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int conn = accept(fd, NULL, NULL);

		if (conn >= 0)
			close(conn);
		else if (errno != EINTR && errno != ECONNABORTED) {
			perror("accept");
			return 1;
		}
	}
}

/* acceptd PORT [MAX_SECONDS]
 * The cheapest possible backend for connrate: accepts TCP connections on
 * [::]:PORT (IPv4 too) and closes each at once. Prints "listening" when ready
 * and exits after MAX_SECONDS (default 600), so a forgotten one goes away. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_MAX_SECONDS 600
#define BACKLOG 4096

int main(int argc, char **argv)
{
	struct sockaddr_in6 addr = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	const int off = 0, on = 1;
	long port, max_seconds;
	int fd;

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
	addr.sin6_port = htons(port);

	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
	    bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, BACKLOG)) {
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

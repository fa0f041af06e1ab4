/* The edge packet-rate benchmark's four XDP tools (tests/bench/edge_pps.ts),
 * each loading its program from tests/native/bench_xdp_*.c, built beside
 * this binary:
 *
 *   xdpgen send live-frames|any IFNAME DST_MAC FIRST_SRC ADDRS PORTS DST_ADDR DST_PORT SECONDS
 *     sends UDP/IPv4 frames of 60 bytes out of IFNAME for SECONDS, from ADDRS
 *     source addresses x PORTS source ports (1024 up) in turn, by
 *     BPF_PROG_TEST_RUN in live-frames mode on the calling CPU; with any,
 *     where the kernel refuses that mode, from a packet socket instead (the
 *     same frames, at a rate no benchmark can use); prints
 *     {"sent":N,"seconds":S,"generator":"live-frames"|"packet-socket"}; exits 3
 *     where live-frames alone was allowed and the kernel refuses it.
 *   xdpgen count IFNAME
 *     counts and drops the UDP and IP-in-IP packets that arrive on IFNAME;
 *     prints "attached", then {"packets":N} on each SIGUSR1.
 *   xdpgen redirect IN_IFNAME OUT_IFNAME DST_MAC
 *     sends every UDP packet arriving on IN_IFNAME out of OUT_IFNAME to
 *     DST_MAC; prints "attached".
 *   xdpgen work IFNAME dsr|snat
 *     runs kpr's work on a balanced packet in that mode, without its lookups
 *     (bench_xdp_work.c), on the maps of the agent's program on IFNAME, in
 *     its place; prints "attached".
 *
 * count, redirect and work hold their program until SIGTERM or SIGINT, then put
 * back the program the device had before. */
#define _GNU_SOURCE /* sendmmsg */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "bench_net.h"

#define FRAME_LEN 60
#define FIRST_PORT 1024
/* Frames per BPF_PROG_TEST_RUN call: about a tenth of a second, so a run
 * ends close to its SECONDS. */
#define REPEAT (1u << 18)
/* What a veth's receive ring (256) takes between two NAPI polls. */
#define BATCH 64
#define MAX_SECONDS 3600
/* send's exit where live frames alone were allowed and the kernel refuses them. */
#define LIVE_FRAMES_REFUSED 3

/* Matches struct gen_config and struct redirect_config in the programs. */
struct gen_config {
	uint8_t frame[FRAME_LEN];
	uint32_t ifindex, first_addr, addrs, ports, first_port;
};
struct redirect_config {
	uint32_t ifindex;
	uint8_t dst[6], src[6];
};

static void die(const char *what, int err)
{
	fprintf(stderr, "xdpgen: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: xdpgen send live-frames|any IFNAME DST_MAC FIRST_SRC ADDRS PORTS DST_ADDR DST_PORT SECONDS\n"
		"       xdpgen count IFNAME\n"
		"       xdpgen redirect IN_IFNAME OUT_IFNAME DST_MAC\n"
		"       xdpgen work IFNAME dsr|snat\n");
	exit(2);
}

static long number(const char *s, long min, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min || v > max)
		usage();
	return v;
}

static int ifindex_of(const char *name)
{
	int i = if_nametoindex(name);

	if (!i)
		die(name, errno);
	return i;
}

static void parse_mac(const char *s, uint8_t mac[6])
{
	if (sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) != 6)
		usage();
}

static void mac_of(const char *name, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		die(name, errno);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
}

/* Program prog of tests/native/<file>.c, loaded from beside this binary;
 * prepare (may be NULL) sees the object before it is loaded, with ifindex. */
static struct bpf_object *load(const char *self, const char *file, const char *prog_name, struct bpf_program **prog,
			       void (*prepare)(struct bpf_object *, int), int ifindex)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];
	struct bpf_object *obj;
	int err;

	snprintf(dir, sizeof(dir), "%s", self);
	snprintf(path, sizeof(path), "%s/%s.o", dirname(dir), file);
	obj = bpf_object__open_file(path, NULL);
	if (!obj)
		die(path, errno);
	if (prepare)
		prepare(obj, ifindex);
	err = bpf_object__load(obj);
	if (err)
		die(path, err);
	*prog = bpf_object__find_program_by_name(obj, prog_name);
	if (!*prog)
		die(prog_name, ENOENT);
	return obj;
}

/* The fd of the map named like map (the kernel keeps 15 characters of a
 * name) among the n maps of ids, or -1. */
static int map_named(const struct bpf_map *map, const uint32_t *ids, uint32_t n)
{
	struct bpf_map_info info;
	uint32_t len;
	int fd;

	for (uint32_t i = 0; i < n; i++) {
		fd = bpf_map_get_fd_by_id(ids[i]);
		if (fd < 0)
			die("a map of the agent's program", errno);
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		    strncmp(info.name, bpf_map__name(map), sizeof(info.name) - 1) == 0)
			return fd;
		close(fd);
	}
	return -1;
}

/* The work programs run on the maps of the agent's XDP program on the
 * device (its config, backends and next hops): each map of theirs that the
 * agent's program has is that one. */
static void reuse_agent_maps(struct bpf_object *obj, int ifindex)
{
	struct bpf_prog_info info;
	uint32_t prog_id = 0, ids[64], len = sizeof(info);
	struct bpf_map *map;
	int prog, fd, err;

	err = bpf_xdp_query_id(ifindex, XDP_FLAGS_DRV_MODE, &prog_id);
	if (err || !prog_id)
		die("the agent's XDP program on the device", err ? err : ENOENT);
	prog = bpf_prog_get_fd_by_id(prog_id);
	if (prog < 0)
		die("the agent's XDP program", errno);
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
	info.map_ids = (uintptr_t)ids;
	err = bpf_obj_get_info_by_fd(prog, &info, &len);
	if (err)
		die("the agent's XDP program's maps", err);
	bpf_object__for_each_map(map, obj) {
		if (bpf_map__is_internal(map))
			continue;
		/* kpr pins its maps in a directory of its own: these are not pinned. */
		bpf_map__set_pin_path(map, NULL);
		fd = map_named(map, ids, info.nr_map_ids < 64 ? info.nr_map_ids : 64);
		if (fd < 0)
			continue;
		err = bpf_map__reuse_fd(map, fd);
		close(fd);
		if (err)
			die(bpf_map__name(map), err);
	}
	close(prog);
}

static void set_config(struct bpf_object *obj, const char *map, const void *value)
{
	uint32_t key = 0;
	int err = bpf_map_update_elem(bpf_object__find_map_fd_by_name(obj, map), &key, value, BPF_ANY);

	if (err)
		die(map, err);
}

static uint16_t ip_checksum(const uint8_t *h)
{
	uint32_t sum = 0;

	for (int i = 0; i < 20; i += 2)
		sum += (h[i] << 8) | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* Ethernet, IPv4 (TTL 64, DF), UDP to dst:dport, zero payload; the
 * program writes the source address and port of each copy. */
static void build_frame(uint8_t *f, const uint8_t dst_mac[6], const uint8_t src_mac[6], struct in_addr src, struct in_addr dst, uint16_t dport)
{
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint16_t ip_len = FRAME_LEN - 14, udp_len = ip_len - 20, sum;

	memset(f, 0, FRAME_LEN);
	memcpy(f, dst_mac, 6);
	memcpy(f + 6, src_mac, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = ip_len >> 8, ip[3] = ip_len & 0xff;
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	sum = ip_checksum(ip);
	ip[10] = sum >> 8, ip[11] = sum & 0xff;
	udp[0] = FIRST_PORT >> 8, udp[1] = FIRST_PORT & 0xff;
	udp[2] = dport >> 8, udp[3] = dport & 0xff;
	udp[4] = udp_len >> 8, udp[5] = udp_len & 0xff;
}

/* The n-th frame of c, as bench_xdp_gen.c writes it, into f. */
static void frame_of_flow(uint8_t *f, const struct gen_config *c, uint64_t n)
{
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint32_t saddr = htonl(c->first_addr + (uint32_t)(n % c->addrs));
	uint16_t sport = c->first_port + (uint32_t)((n / c->addrs) % c->ports), sum;

	memcpy(f, c->frame, FRAME_LEN);
	memcpy(ip + 12, &saddr, 4);
	ip[10] = ip[11] = 0;
	sum = ip_checksum(ip);
	ip[10] = sum >> 8, ip[11] = sum & 0xff;
	udp[0] = sport >> 8, udp[1] = sport & 0xff;
}

/* The kernel's refusal of live frames: EPERM where a policy forbids it,
 * EINVAL where the kernel predates the mode (5.18). */
static int live_frames_refused(int err)
{
	return err == -EPERM || err == -EINVAL || err == -EOPNOTSUPP;
}

/* SECONDS of c's frames from a packet socket, BATCH to a call, past the
 * device's queueing discipline as the live frames go; returns how many were
 * handed to the device. */
static uint64_t send_from_socket(const struct gen_config *c, double seconds, double start)
{
	static uint8_t frames[BATCH][FRAME_LEN];
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = c->ifindex, .sll_halen = 6 };
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	int fd = socket(AF_PACKET, SOCK_RAW, 0), one = 1;
	uint64_t n = 0, sent = 0;

	if (fd < 0 || setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)))
		die("a packet socket", errno);
	memcpy(to.sll_addr, c->frame, 6);
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ .iov_base = frames[i], .iov_len = FRAME_LEN };
		msgs[i].msg_hdr = (struct msghdr){ .msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	while (now() - start < seconds) {
		for (int i = 0; i < BATCH; i++)
			frame_of_flow(frames[i], c, n + i);
		int took = sendmmsg(fd, msgs, BATCH, 0);

		if (took < 0 && errno != ENOBUFS)
			die("sendmmsg", errno);
		/* A veth drops a frame its peer's ring has no room for, counts it
		 * as its own, and the call ends there (ENOBUFS, told only when it
		 * is the batch's first). That frame was handed to the device, as
		 * every live frame is: sent, so that what arrives and what the
		 * veths count as dropped add up to what was sent. An error of
		 * another kind recurs at the next call's first frame, and ends
		 * the run. */
		int handed = took < 0 ? 1 : took < BATCH ? took + 1 : BATCH;

		n += handed, sent += handed;
	}
	close(fd);
	return sent;
}

static int send_frames(const char *self, char **a)
{
	int any = strcmp(a[0], "any") == 0;
	const char *ifname = a[1];
	struct gen_config c = { .ifindex = ifindex_of(ifname), .first_port = FIRST_PORT };
	uint8_t frame[FRAME_LEN], dst_mac[6], src_mac[6];
	const char *generator = "live-frames";
	struct in_addr src, dst;
	struct bpf_program *prog;
	long seconds;

	if (!any && strcmp(a[0], "live-frames") != 0)
		usage();
	a++;
	parse_mac(a[1], dst_mac);
	mac_of(ifname, src_mac);
	if (inet_pton(AF_INET, a[2], &src) != 1 || inet_pton(AF_INET, a[5], &dst) != 1)
		usage();
	c.first_addr = ntohl(src.s_addr);
	c.addrs = number(a[3], 1, 65536);
	c.ports = number(a[4], 1, 65536 - FIRST_PORT);
	build_frame(frame, dst_mac, src_mac, src, dst, number(a[6], 1, 65535));
	memcpy(c.frame, frame, FRAME_LEN);
	seconds = number(a[7], 1, MAX_SECONDS);

	struct bpf_object *obj = load(self, "bench_xdp_gen", "bench_xdp_gen", &prog, NULL, 0);
	struct xdp_md ctx = { .data_end = FRAME_LEN, .ingress_ifindex = c.ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = FRAME_LEN, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = REPEAT, .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = BATCH);
	uint64_t sent = 0;
	double start = now(), elapsed;

	set_config(obj, "bench_gen_config", &c);
	do {
		int err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);

		if (err && sent == 0 && live_frames_refused(err) && any) {
			generator = "packet-socket";
			sent = send_from_socket(&c, seconds, start);
		} else if (err && sent == 0 && live_frames_refused(err)) {
			fprintf(stderr, "xdpgen: this kernel refuses BPF_PROG_TEST_RUN in live-frames mode, the in-kernel generator: %s\n",
				strerror(-err));
			exit(LIVE_FRAMES_REFUSED);
		} else if (err) {
			die("BPF_PROG_TEST_RUN", err);
		} else {
			sent += REPEAT;
		}
		elapsed = now() - start;
	} while (elapsed < seconds);
	printf("{\"sent\":%llu,\"seconds\":%.6f,\"generator\":\"%s\"}\n", (unsigned long long)sent, elapsed, generator);
	bpf_object__close(obj);
	return 0;
}

/* Attaches prog to ifindex until SIGTERM/SIGINT, calling on_usr1 at each
 * SIGUSR1, then gives the device back its former program (or none). */
static void hold(int ifindex, struct bpf_program *prog, void (*on_usr1)(struct bpf_object *), struct bpf_object *obj)
{
	uint32_t before = 0;
	sigset_t set;
	int sig, err;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	err = bpf_xdp_query_id(ifindex, XDP_FLAGS_DRV_MODE, &before);
	if (err)
		die("query the device's XDP program", err);
	/* Held from before the swap: the device's reference was its only one. */
	int former = before ? bpf_prog_get_fd_by_id(before) : -1;

	if (before && former < 0)
		die("hold the device's XDP program", errno);
	err = bpf_xdp_attach(ifindex, bpf_program__fd(prog), XDP_FLAGS_DRV_MODE, NULL);
	if (err)
		die("attach", err);
	printf("attached\n");
	fflush(stdout);
	while (sigwait(&set, &sig) == 0 && sig == SIGUSR1) {
		if (on_usr1)
			on_usr1(obj);
	}
	err = bpf_xdp_attach(ifindex, former, XDP_FLAGS_DRV_MODE, NULL);
	if (err)
		die("put back the device's former XDP program", err);
}

static void print_count(struct bpf_object *obj)
{
	int cpus = libbpf_num_possible_cpus();
	uint64_t values[cpus > 0 ? cpus : 1], total = 0;
	uint32_t key = 0;
	int err = bpf_map_lookup_elem(bpf_object__find_map_fd_by_name(obj, "bench_count"), &key, values);

	if (cpus <= 0 || err)
		die("read the count", cpus <= 0 ? cpus : err);
	for (int i = 0; i < cpus; i++)
		total += values[i];
	printf("{\"packets\":%llu}\n", (unsigned long long)total);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct bpf_program *prog;
	struct bpf_object *obj;

	if (argc == 11 && strcmp(argv[1], "send") == 0)
		return send_frames(argv[0], argv + 2);
	if (argc == 3 && strcmp(argv[1], "count") == 0) {
		obj = load(argv[0], "bench_xdp_count", "bench_xdp_count", &prog, NULL, 0);
		hold(ifindex_of(argv[2]), prog, print_count, obj);
	} else if (argc == 5 && strcmp(argv[1], "redirect") == 0) {
		struct redirect_config c = { .ifindex = ifindex_of(argv[3]) };

		parse_mac(argv[4], c.dst);
		mac_of(argv[3], c.src);
		obj = load(argv[0], "bench_xdp_redirect", "bench_xdp_redirect", &prog, NULL, 0);
		set_config(obj, "bench_redirect_config", &c);
		hold(ifindex_of(argv[2]), prog, NULL, obj);
	} else if (argc == 4 && strcmp(argv[1], "work") == 0 &&
		   (strcmp(argv[3], "dsr") == 0 || strcmp(argv[3], "snat") == 0)) {
		char name[32];

		snprintf(name, sizeof(name), "bench_xdp_%s_work", argv[3]);
		obj = load(argv[0], "bench_xdp_work", name, &prog, reuse_agent_maps, ifindex_of(argv[2]));
		hold(ifindex_of(argv[2]), prog, NULL, obj);
	} else {
		usage();
	}
	bpf_object__close(obj);
	return 0;
}

// The socket load balancer's maps as plain C++ records: loading bpf/sock_lb.o
// with its maps pinned, packing keys and values (bpf/include/kpr_sock_types.h),
// batched writes and dumps, and reading its counters.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "addr_text.h"
#include "loader.h"

extern "C" {
#include "kpr_sock_types.h"
}

struct bpf_object;

namespace kpr {

struct SockLoadOptions {
  std::string object_path;  // sock_lb.o
  std::string map_dir;
  uint32_t lb_map_max;  // kpr_services, kpr_backends, kpr_affinity, kpr_svc_stats
  uint32_t revnat_map_max;
};

struct SockMapFds {
  int services = -1;
  int backends = -1;
  int affinity = -1;
  int revnat = -1;
  int destroy = -1;
  int svc_stats = -1;
  int drops = -1;
};

struct SockObject {
  bpf_object* obj = nullptr;
  SockMapFds maps;
  Migrations migrations;
};

// Throws BpfError with the errno text and the tail of libbpf's log, which
// holds the verifier's output when a program is rejected.
SockObject LoadSockObject(const SockLoadOptions& opts);

// The maps pinned in map_dir, opened by path without loading anything: for
// readers while no agent runs. The caller closes the fds.
SockMapFds OpenPinnedSockMaps(const std::string& map_dir);
void CloseSockMaps(SockMapFds& maps);

struct SockServiceSlot {
  Frontend fe;
  uint16_t slot;
  uint32_t svc_id;
  uint32_t backend_id;
  uint16_t count;
  uint32_t affinity_timeout;
};

struct SockBackend {
  uint32_t id;
  std::string addr;
  uint16_t port;
  uint32_t svc_id;
};

// A backend whose connected UDP sockets are to be destroyed.
struct SockTarget {
  std::string addr;
  uint16_t port;
};

sock_svc_key PackSockServiceKey(const Frontend& fe, uint16_t slot);

void UpdateSockServices(int fd, const std::vector<SockServiceSlot>& slots);
void DeleteSockServices(int fd, const std::vector<sock_svc_key>& keys);
void UpdateSockBackends(int fd, const std::vector<SockBackend>& backends);
void DeleteSockBackends(int fd, const std::vector<uint32_t>& ids);
void ReplaceDestroyTargets(int fd, const std::vector<SockTarget>& targets);
void ClearDestroyTargets(int fd);

std::vector<SockServiceSlot> DumpSockServices(int fd);
std::vector<SockBackend> DumpSockBackends(int fd);
// What each map holds, as map_digest.h digests it: what the agent wrote
// matches it (lib/datapath/socket/map_digest.ts) exactly when the map holds
// just that, byte for byte.
std::string SockServicesDigest(int fd);
std::string SockBackendsDigest(int fd);
// kpr_sock_service_ranges of a loaded object, and what it holds digested
// alike, each entry as its canonical "addr/len".
int SockServiceRangesFd(bpf_object* obj);
std::string SockServiceRangesDigest(int fd);

struct SockServiceStats {
  uint32_t svc_id;
  uint64_t translations;
};

// The services that translated anything; the others are left out.
std::vector<SockServiceStats> ReadSockServiceStats(int fd);
// kpr_drops: the count of each reason (enum kpr_sock_reason), by index.
std::vector<uint64_t> ReadSockDrops(int fd);

// The network namespaces the socket LB leaves alone (kpr_sock_bypass), by
// cookie, of a loaded object: made exactly cookies, deleting the others.
void ReplaceSockBypass(bpf_object* obj, const std::vector<uint64_t>& cookies);
std::vector<uint64_t> DumpSockBypass(bpf_object* obj);
// The node's network namespace (kpr_sock_node_netns), the only one where
// loopback frontends are served; with only (--bpf-lb-sock-hostns-only,
// kpr_sock_hostns) the only one the socket LB translates in at all.
void SetSockNodeNetns(bpf_object* obj, uint64_t cookie, bool only);
// The service CIDRs and ClusterIPs whose unserved ports are refused
// (kpr_sock_service_ranges), canonical "addr/len": made exactly cidrs,
// whatever the map held.
void ReplaceSockServiceRanges(bpf_object* obj, const std::vector<std::string>& cidrs);

}  // namespace kpr

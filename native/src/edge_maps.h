// The XDP edge load balancer's maps as plain C++ records: loading
// bpf/xdp_lb.o and bpf/tc_dsr.o, packing keys and values (bpf/include/kpr_edge_types.h),
// swapping Maglev tables and reading its counters.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "addr_text.h"
#include "loader.h"

extern "C" {
#include "kpr_flow_lifetime.h"
#include "kpr_edge_types.h"
}

struct bpf_object;
struct bpf_program;

namespace kpr {

struct EdgeLoadOptions {
  std::string object_path;     // xdp_lb.o
  std::string tc_object_path;  // tc_dsr.o, which shares its maps
  std::string map_dir;
  uint32_t frontend_max;
  uint32_t backend_max;
  uint32_t flow_max;  // also sizes kpr_edge_revnat: one entry per flow to a local backend
  uint32_t affinity_max;
  uint32_t source_range_max;
  uint32_t snat_max;
  uint32_t fragment_max;  // kpr_edge_fragments: datagrams in fragments at once
  uint32_t maglev_size;  // M: entries of every service's Maglev table
};

struct EdgeMapFds {
  int frontends = -1;
  int backends = -1;
  int maglev = -1;
  int source_ranges = -1;
  int stats = -1;
  int drops = -1;
  int flow_misses = -1;
  int config = -1;
  int flows4 = -1;
  int flows6 = -1;
  int affinity = -1;
  int snat = -1;
  int snat_ports = -1;
  int revnat = -1;
};

struct EdgeObject {
  bpf_object* obj = nullptr;
  bpf_object* tc_obj = nullptr;
  EdgeMapFds maps;
  uint32_t maglev_size = 0;
  Migrations migrations;
};

EdgeObject LoadEdgeObject(const EdgeLoadOptions& opts);

// The maps pinned in map_dir, opened by path without loading anything: for
// readers while an agent runs (or after). The caller closes the fds.
EdgeMapFds OpenPinnedEdgeMaps(const std::string& map_dir);
void CloseEdgeMaps(EdgeMapFds& maps);

// A program of either object, by name; throws when there is none.
bpf_program* EdgeProgram(const EdgeObject& edge, const std::string& name);

// A frontend in one of the edge LB's two views: as clients outside the node
// reach it (XDP), or as the node's own pods do (the per-packet path,
// KPR_EDGE_FE_POD in the key).
struct EdgeFrontendKey {
  Frontend fe;
  bool pod = false;
};

struct EdgeFrontend {
  EdgeFrontendKey key;
  uint32_t svc_id;
  uint16_t count;
  uint16_t flags;  // KPR_EDGE_F_*
  uint32_t affinity_timeout;
};

struct EdgeBackend {
  uint32_t id;
  std::string addr;
  uint16_t port;
  uint32_t svc_id;
  std::string node_addr;  // empty: the backend runs on this node
};

struct EdgeConfig {
  std::string node_addr4;  // empty: no IPv4 tunnels from this node
  std::string node_addr6;
  uint32_t hash_seed;
  edge_timeouts timeouts;  // seconds
  std::vector<edge_port_range> snat_ports;  // at most KPR_SNAT_RANGES
};

struct SourceRange {
  uint32_t svc_id;
  std::string cidr;  // "198.18.0.0/15", "fd00:198:18::/48"
};

struct EdgeStats {
  uint32_t svc_id;
  uint64_t packets;
  uint64_t bytes;
};

void UpdateEdgeFrontends(int fd, const std::vector<EdgeFrontend>& frontends);
void DeleteEdgeFrontends(int fd, const std::vector<EdgeFrontendKey>& keys);
void UpdateEdgeBackends(int fd, const std::vector<EdgeBackend>& backends);
void DeleteEdgeBackends(int fd, const std::vector<uint32_t>& ids);
// Builds a fresh inner table of exactly maglev_size ids and swaps it in.
void SetMaglevTable(int outer_fd, uint32_t svc_id, const std::vector<uint32_t>& ids, uint32_t maglev_size);
void UpdateSourceRanges(int fd, const std::vector<SourceRange>& ranges);
void WriteEdgeConfig(int fd, const EdgeConfig& cfg, uint32_t maglev_size);
// The services that counted packets; the others are left out.
std::vector<EdgeStats> ReadEdgeStats(int fd);
// kpr_xdp_drops: the count of each reason (enum kpr_edge_reason), by index.
std::vector<uint64_t> ReadEdgeDrops(int fd);
// kpr_edge_flow_misses, summed over the CPUs.
uint64_t ReadFlowMisses(int fd);

// kpr_xdp_config as the agent wrote it (maglev_size 0: never written).
struct EdgeSettingsRead {
  EdgeConfig cfg;
  uint32_t maglev_size;
};
EdgeSettingsRead ReadEdgeConfig(int fd);

// Reads back what the agent wrote, for adoption, repair and the CLI.
std::vector<EdgeFrontend> DumpEdgeFrontends(int fd);
std::vector<EdgeBackend> DumpEdgeBackends(int fd);  // the ids in use only
std::vector<SourceRange> DumpSourceRanges(int fd);
void DeleteSourceRanges(int fd, const std::vector<SourceRange>& ranges);
std::vector<uint32_t> DumpMaglevTableIds(int outer_fd);
void DeleteMaglevTables(int outer_fd, const std::vector<uint32_t>& svc_ids);
// A service's programmed table (M backend ids); empty when it has none.
std::vector<uint32_t> ReadMaglevTable(int outer_fd, uint32_t svc_id);

// A flow the edge LB pinned to a backend.
struct EdgeFlow {
  std::string client;
  uint16_t client_port;
  uint8_t proto;
  uint32_t svc_id;
  uint32_t backend_id;
  uint8_t state;          // KPR_CT_*
  uint32_t idle_seconds;  // since its last packet, by the datapath clock
};
std::vector<EdgeFlow> DumpEdgeFlows(const EdgeMapFds& maps);

}  // namespace kpr

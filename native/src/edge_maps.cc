#include "edge_maps.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cstring>

#include "bpf_errors.h"
#include "coarse_clock.h"
#include "loader.h"
#include "map_batch.h"
#include "owned_fd.h"
#include "percpu_counters.h"

namespace kpr {

namespace {

// The maps the addon reads or writes, by their pinned names.
constexpr MapTable<EdgeMapFds> kEdgeMaps[] = {
    {&EdgeMapFds::frontends, "kpr_edge_frontends"}, {&EdgeMapFds::backends, "kpr_edge_backends"},
    {&EdgeMapFds::maglev, "kpr_edge_maglev"},       {&EdgeMapFds::source_ranges, "kpr_edge_source_ranges"},
    {&EdgeMapFds::stats, "kpr_edge_stats"},         {&EdgeMapFds::drops, "kpr_xdp_drops"},
    {&EdgeMapFds::config, "kpr_xdp_config"},        {&EdgeMapFds::flows4, "kpr_edge_flows4"},
    {&EdgeMapFds::flows6, "kpr_edge_flows6"},       {&EdgeMapFds::flow_misses, "kpr_edge_flow_misses"},
    {&EdgeMapFds::affinity, "kpr_edge_affinity"},   {&EdgeMapFds::snat, "kpr_edge_snat"},
    {&EdgeMapFds::snat_ports, "kpr_edge_snat_ports"}, {&EdgeMapFds::revnat, "kpr_edge_revnat"},
};

edge_fe_key PackEdgeKey(const EdgeFrontendKey& key) {
  edge_fe_key k{};
  ParseAddr(key.fe.addr, k.addr, &k.family);
  k.port = htons(key.fe.port);
  k.proto = key.fe.proto;
  if (key.pod) k.family |= KPR_EDGE_FE_POD;
  return k;
}

// An address that must be of the given family (a tunnel cannot change it).
void ParseAddrOf(const std::string& text, uint8_t family, uint8_t out[16], const char* what) {
  uint8_t got;
  ParseAddr(text, out, &got);
  if (got != family) throw BpfError(std::string(what) + " '" + text + "' is of the wrong address family");
}

}  // namespace

EdgeObject LoadEdgeObject(const EdgeLoadOptions& o) {
  // Both objects declare every edge map (kpr_edge_maps.h) and must size them
  // alike to share their pins.
  const std::vector<MapCapacity> capacities{{"kpr_edge_frontends", o.frontend_max},
                                            {"kpr_edge_backends", o.backend_max + 1},  // ids 1..max
                                            {"kpr_edge_maglev", o.frontend_max},
                                            {"kpr_edge_maglev", o.maglev_size, true},
                                            {"kpr_edge_flows4", o.flow_max},
                                            {"kpr_edge_flows6", o.flow_max},
                                            {"kpr_edge_affinity", o.affinity_max},
                                            {"kpr_edge_source_ranges", o.source_range_max},
                                            {"kpr_edge_snat", o.snat_max},
                                            {"kpr_edge_snat_ports", o.snat_max},
                                            {"kpr_edge_revnat", o.flow_max},
                                            {"kpr_edge_fragments", o.fragment_max},
                                            {"kpr_edge_stats", o.frontend_max + 1}};
  EdgeObject out;
  out.obj = OpenAndLoad(o.object_path, o.map_dir, capacities, out.migrations);
  try {
    out.tc_obj = OpenAndLoad(o.tc_object_path, o.map_dir, capacities, out.migrations);
    out.maglev_size = o.maglev_size;
    out.maps = MapFdsOf(out.obj, kEdgeMaps);
    return out;
  } catch (...) {
    bpf_object__close(out.tc_obj);
    bpf_object__close(out.obj);
    throw;
  }
}

EdgeMapFds OpenPinnedEdgeMaps(const std::string& map_dir) { return OpenPinnedMapFds(map_dir, kEdgeMaps); }

void CloseEdgeMaps(EdgeMapFds& maps) { CloseMapFds(maps, kEdgeMaps); }

bpf_program* EdgeProgram(const EdgeObject& edge, const std::string& name) {
  for (bpf_object* obj : {edge.obj, edge.tc_obj}) {
    bpf_program* prog = obj ? bpf_object__find_program_by_name(obj, name.c_str()) : nullptr;
    if (prog) return prog;
  }
  throw BpfError("the edge LB has no program " + name);
}

void UpdateEdgeFrontends(int fd, const std::vector<EdgeFrontend>& frontends) {
  std::vector<edge_fe_key> keys;
  std::vector<edge_fe_val> values;
  for (const auto& f : frontends) {
    keys.push_back(PackEdgeKey(f.key));
    edge_fe_val v{};
    v.svc_id = f.svc_id;
    v.count = f.count;
    v.flags = f.flags;
    v.affinity_timeout = f.affinity_timeout;
    values.push_back(v);
  }
  UpdateBatch(fd, "kpr_edge_frontends", keys, values);
}

void DeleteEdgeFrontends(int fd, const std::vector<EdgeFrontendKey>& frontends) {
  std::vector<edge_fe_key> keys;
  for (const auto& f : frontends) keys.push_back(PackEdgeKey(f));
  DeleteBatch(fd, "kpr_edge_frontends", keys);
}

void UpdateEdgeBackends(int fd, const std::vector<EdgeBackend>& backends) {
  std::vector<__u32> keys;
  std::vector<edge_backend> values;
  for (const auto& b : backends) {
    keys.push_back(b.id);
    edge_backend v{};
    ParseAddr(b.addr, v.addr, &v.family);
    if (!b.node_addr.empty()) ParseAddrOf(b.node_addr, v.family, v.node_addr, "node address");
    v.port = htons(b.port);
    v.svc_id = b.svc_id;
    values.push_back(v);
  }
  UpdateBatch(fd, "kpr_edge_backends", keys, values);
}

void DeleteEdgeBackends(int fd, const std::vector<uint32_t>& ids) {
  // An array entry cannot go: it is zeroed, which no frontend owns.
  std::vector<__u32> keys(ids.begin(), ids.end());
  std::vector<edge_backend> zeros(ids.size());
  UpdateBatch(fd, "kpr_edge_backends", keys, zeros);
}

void SetMaglevTable(int outer_fd, uint32_t svc_id, const std::vector<uint32_t>& ids, uint32_t maglev_size) {
  if (ids.size() != maglev_size)
    throw BpfError("a Maglev table has " + std::to_string(maglev_size) + " entries, got " + std::to_string(ids.size()));
  int inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "kpr_edge_mtab", sizeof(__u32), sizeof(__u32), maglev_size, nullptr);
  if (inner < 0) ThrowErrno("creating a Maglev table", errno);
  OwnedFd guard(inner);
  std::vector<__u32> slots(maglev_size), values(ids.begin(), ids.end());
  for (uint32_t i = 0; i < maglev_size; i++) slots[i] = i;
  UpdateBatch(inner, "a Maglev table", slots, values);
  // The outer map holds its own reference; ours goes with the guard.
  if (bpf_map_update_elem(outer_fd, &svc_id, &inner, BPF_ANY) != 0)
    ThrowErrno("installing the Maglev table of service " + std::to_string(svc_id), errno);
}

namespace {

edge_src_range_key PackSourceRange(const SourceRange& r) {
  edge_src_range_key k{};
  k.prefixlen = KPR_EDGE_SRC_RANGE_FIXED_BITS + ParseCidr(r.cidr, k.addr, &k.family);
  k.svc_id = r.svc_id;
  return k;
}

}  // namespace

void UpdateSourceRanges(int fd, const std::vector<SourceRange>& ranges) {
  std::vector<edge_src_range_key> keys;
  std::vector<__u8> values;
  for (const auto& r : ranges) {
    keys.push_back(PackSourceRange(r));
    values.push_back(1);
  }
  UpdateBatch(fd, "kpr_edge_source_ranges", keys, values);
}

void DeleteSourceRanges(int fd, const std::vector<SourceRange>& ranges) {
  std::vector<edge_src_range_key> keys;
  for (const auto& r : ranges) keys.push_back(PackSourceRange(r));
  DeleteEach(fd, "kpr_edge_source_ranges", keys);  // an LPM trie has no batch operations
}

std::vector<SourceRange> DumpSourceRanges(int fd) {
  std::vector<SourceRange> out;
  ForEachKey<edge_src_range_key>(fd, [&](const edge_src_range_key& k) {
    out.push_back(SourceRange{k.svc_id, FormatAddr(k.addr, k.family) + "/" + std::to_string(k.prefixlen - KPR_EDGE_SRC_RANGE_FIXED_BITS)});
  });
  return out;
}

std::vector<EdgeFrontend> DumpEdgeFrontends(int fd) {
  std::vector<EdgeFrontend> out;
  ForEach<edge_fe_key, edge_fe_val>(fd, [&](const edge_fe_key& k, const edge_fe_val& v) {
    const uint8_t family = k.family & ~KPR_EDGE_FE_POD;
    const EdgeFrontendKey key{Frontend{FormatAddr(k.addr, family), ntohs(k.port), k.proto}, (k.family & KPR_EDGE_FE_POD) != 0};
    out.push_back(EdgeFrontend{key, v.svc_id, v.count, v.flags,
                               (v.flags & KPR_EDGE_F_AFFINITY) ? v.affinity_timeout : 0});
  });
  return out;
}

std::vector<EdgeBackend> DumpEdgeBackends(int fd) {
  std::vector<EdgeBackend> out;
  ForEach<__u32, edge_backend>(fd, [&](const __u32& id, const edge_backend& v) {
    if (v.family == 0) return;  // a free slot of the array
    uint64_t node[2];
    memcpy(node, v.node_addr, sizeof(node));
    out.push_back(EdgeBackend{id, FormatAddr(v.addr, v.family), ntohs(v.port), v.svc_id,
                              (node[0] | node[1]) ? FormatAddr(v.node_addr, v.family) : ""});
  });
  return out;
}

std::vector<uint32_t> DumpMaglevTableIds(int outer_fd) {
  std::vector<uint32_t> out;
  ForEachKey<__u32>(outer_fd, [&](const __u32& id) { out.push_back(id); });  // maps of maps have no batch reads
  return out;
}

void DeleteMaglevTables(int outer_fd, const std::vector<uint32_t>& svc_ids) {
  std::vector<__u32> keys(svc_ids.begin(), svc_ids.end());
  DeleteEach(outer_fd, "kpr_edge_maglev", keys);
}

std::vector<uint32_t> ReadMaglevTable(int outer_fd, uint32_t svc_id) {
  __u32 inner_id = 0;
  if (bpf_map_lookup_elem(outer_fd, &svc_id, &inner_id) != 0) {
    if (errno == ENOENT) return {};
    ThrowErrno("reading the Maglev table of service " + std::to_string(svc_id), errno);
  }
  int inner = bpf_map_get_fd_by_id(inner_id);
  if (inner < 0) ThrowErrno("opening the Maglev table of service " + std::to_string(svc_id), errno);
  OwnedFd guard(inner);
  std::vector<uint32_t> table;
  ForEach<__u32, __u32>(inner, [&](const __u32& slot, const __u32& id) {
    if (slot >= table.size()) table.resize(slot + 1);
    table[slot] = id;
  });
  return table;
}

void WriteEdgeConfig(int fd, const EdgeConfig& cfg, uint32_t maglev_size) {
  __u32 zero = 0;
  edge_config v{}, was{};
  // The clock runs on (kpr_flow_lifetime.h): flows' times are of it.
  if (bpf_map_lookup_elem(fd, &zero, &was) != 0) ThrowErrno("reading kpr_xdp_config", errno);
  v.clock_s = std::max(was.clock_s, ct_clock_of(CoarseNowNs()));
  v.agent_clock_s = was.agent_clock_s;
  uint8_t addr[16];
  if (!cfg.node_addr4.empty()) {
    ParseAddrOf(cfg.node_addr4, KPR_AF_INET, addr, "IPv4 node address");
    memcpy(v.node_addr4, addr, 4);
  }
  if (!cfg.node_addr6.empty()) ParseAddrOf(cfg.node_addr6, KPR_AF_INET6, v.node_addr6, "IPv6 node address");
  v.maglev_size = maglev_size;
  v.hash_seed = cfg.hash_seed;
  v.timeouts = cfg.timeouts;
  if (cfg.snat_ports.size() > KPR_SNAT_RANGES)
    throw BpfError("at most " + std::to_string(KPR_SNAT_RANGES) + " snat port ranges, got " + std::to_string(cfg.snat_ports.size()));
  for (size_t i = 0; i < cfg.snat_ports.size(); i++) {
    const edge_port_range& r = cfg.snat_ports[i];
    if (r.count == 0 || r.min == 0 || uint32_t{r.min} + r.count > 65536)
      throw BpfError("snat port range " + std::to_string(r.min) + "+" + std::to_string(r.count) + " is not within 1-65535");
    v.snat_ports[i] = r;
  }
  if (bpf_map_update_elem(fd, &zero, &v, BPF_ANY) != 0) ThrowErrno("writing kpr_xdp_config", errno);
}

std::vector<EdgeFlow> DumpEdgeFlows(const EdgeMapFds& maps) {
  std::vector<EdgeFlow> out;
  const __u32 now = ct_clock_of(CoarseNowNs());
  auto idle = [now](__u32 seen) { return static_cast<uint32_t>(std::max<__s64>(0, ct_idle_s(seen, now))); };
  ForEach<edge_flow_key4, edge_flow_val>(maps.flows4, [&](const edge_flow_key4& k, const edge_flow_val& v) {
    uint8_t addr[16] = {};
    memcpy(addr, k.saddr, 4);
    out.push_back(EdgeFlow{FormatAddr(addr, KPR_AF_INET), ntohs(k.sport), k.proto, k.svc_id, v.backend_id, v.state, idle(v.seen_s)});
  });
  ForEach<edge_flow_key6, edge_flow_val>(maps.flows6, [&](const edge_flow_key6& k, const edge_flow_val& v) {
    out.push_back(EdgeFlow{FormatAddr(k.saddr, KPR_AF_INET6), ntohs(k.sport), k.proto, k.svc_id, v.backend_id, v.state, idle(v.seen_s)});
  });
  return out;
}

EdgeSettingsRead ReadEdgeConfig(int fd) {
  edge_config v{};
  __u32 zero = 0;
  if (bpf_map_lookup_elem(fd, &zero, &v) != 0) ThrowErrno("reading kpr_xdp_config", errno);
  EdgeSettingsRead out{};
  uint8_t addr[16] = {};
  memcpy(addr, v.node_addr4, 4);
  uint32_t v4;
  memcpy(&v4, v.node_addr4, 4);
  if (v4) out.cfg.node_addr4 = FormatAddr(addr, KPR_AF_INET);
  uint64_t v6[2];
  memcpy(v6, v.node_addr6, 16);
  if (v6[0] | v6[1]) out.cfg.node_addr6 = FormatAddr(v.node_addr6, KPR_AF_INET6);
  out.cfg.hash_seed = v.hash_seed;
  out.cfg.timeouts = v.timeouts;
  for (const edge_port_range& r : v.snat_ports)
    if (r.count) out.cfg.snat_ports.push_back(r);
  out.maglev_size = v.maglev_size;
  return out;
}

std::vector<EdgeStats> ReadEdgeStats(int fd) {
  return ReadServiceCounters<EdgeStats>(fd, 2, [](uint32_t id, const uint64_t* sums) {  // packets, bytes
    return EdgeStats{id, sums[0], sums[1]};
  });
}

std::vector<uint64_t> ReadEdgeDrops(int fd) { return SumPerCpuCounters(fd, KPR_EDGE_REASON_MAX); }

uint64_t ReadFlowMisses(int fd) { return SumPerCpuCounters(fd, 1)[0]; }

}  // namespace kpr

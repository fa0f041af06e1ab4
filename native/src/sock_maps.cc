#include "sock_maps.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unordered_set>

#include "bpf_errors.h"
#include "addr_text.h"
#include "map_batch.h"
#include "map_digest.h"
#include "percpu_counters.h"

namespace kpr {

namespace {

// The maps the addon reads or writes, by their pinned names.
constexpr MapTable<SockMapFds> kSockMaps[] = {
    {&SockMapFds::services, "kpr_services"}, {&SockMapFds::backends, "kpr_backends"},
    {&SockMapFds::affinity, "kpr_affinity"}, {&SockMapFds::revnat, "kpr_revnat"},
    {&SockMapFds::destroy, "kpr_destroy"},   {&SockMapFds::svc_stats, "kpr_svc_stats"},
    {&SockMapFds::drops, "kpr_drops"},
};

}  // namespace

SockObject LoadSockObject(const SockLoadOptions& opts) {
  // Frontends and their backend slots share kpr_services; the plan keeps
  // their sum within lb_map_max.
  SockObject out;
  out.obj = OpenAndLoad(opts.object_path, opts.map_dir,
                        {{"kpr_services", opts.lb_map_max},
                         {"kpr_backends", opts.lb_map_max},
                         {"kpr_affinity", opts.lb_map_max},
                         {"kpr_svc_stats", opts.lb_map_max + 1},
                         {"kpr_revnat", opts.revnat_map_max}},
                        out.migrations);
  try {
    out.maps = MapFdsOf(out.obj, kSockMaps);
    return out;
  } catch (...) {
    bpf_object__close(out.obj);
    throw;
  }
}

SockMapFds OpenPinnedSockMaps(const std::string& map_dir) { return OpenPinnedMapFds(map_dir, kSockMaps); }

std::vector<uint64_t> DumpSockBypass(bpf_object* obj) {
  std::vector<uint64_t> out;
  ForEach<__u64, __u8>(MapFd(obj, "kpr_sock_bypass"), [&](const __u64& cookie, const __u8&) { out.push_back(cookie); });
  return out;
}

void ReplaceSockBypass(bpf_object* obj, const std::vector<uint64_t>& cookies) {
  const int fd = MapFd(obj, "kpr_sock_bypass");
  std::vector<__u64> add(cookies.begin(), cookies.end()), gone;
  for (uint64_t c : DumpSockBypass(obj))
    if (std::find(cookies.begin(), cookies.end(), c) == cookies.end()) gone.push_back(c);
  // New ones first: a namespace in both sets is never left out meanwhile.
  std::vector<__u8> ones(add.size(), 1);
  UpdateBatch(fd, "kpr_sock_bypass", add, ones);
  DeleteBatch(fd, "kpr_sock_bypass", gone);
}

static void SetCookie(bpf_object* obj, const char* map, uint64_t cookie) {
  const __u32 zero = 0;
  const __u64 value = cookie;
  if (bpf_map_update_elem(MapFd(obj, map), &zero, &value, BPF_ANY) != 0) ThrowErrno(std::string("writing ") + map, errno);
}

void SetSockNodeNetns(bpf_object* obj, uint64_t cookie, bool only) {
  SetCookie(obj, "kpr_sock_node_netns", cookie);
  SetCookie(obj, "kpr_sock_hostns", only ? cookie : 0);
}

void ReplaceSockServiceRanges(bpf_object* obj, const std::vector<std::string>& cidrs) {
  const int fd = MapFd(obj, "kpr_sock_service_ranges");
  // One pass over the map: only the missing entries are written, only the
  // stray ones deleted (a ClusterIP per service: the sets are large).
  const std::unordered_set<std::string> wanted(cidrs.begin(), cidrs.end());
  std::unordered_set<std::string> present;
  std::vector<sock_range_key> gone;
  ForEachKey<sock_range_key>(fd, [&](const sock_range_key& k) {
    std::string text = FormatAddr(k.addr, k.family) + "/" + std::to_string(k.prefixlen - KPR_SOCK_RANGE_FIXED_BITS);
    if (wanted.count(text) > 0) present.insert(std::move(text));
    else gone.push_back(k);
  });
  // New ones first, one at a time: an LPM trie has no batch operations.
  const __u8 one = 1;
  for (const auto& cidr : cidrs) {
    if (present.count(cidr) > 0) continue;
    sock_range_key k{};
    k.prefixlen = KPR_SOCK_RANGE_FIXED_BITS + ParseCidr(cidr, k.addr, &k.family);
    if (bpf_map_update_elem(fd, &k, &one, BPF_ANY) != 0) ThrowErrno("writing kpr_sock_service_ranges", errno);
  }
  DeleteEach(fd, "kpr_sock_service_ranges", gone);
}

// Whether addr holds what ParseAddr makes: an IPv4 address's last 12 bytes zero.
static bool PackedAddr(const uint8_t addr[16], uint8_t family) {
  if (family == KPR_AF_INET6) return true;
  if (family != KPR_AF_INET) return false;
  for (int i = 4; i < 16; i++)
    if (addr[i] != 0) return false;
  return true;
}

int SockServiceRangesFd(bpf_object* obj) { return MapFd(obj, "kpr_sock_service_ranges"); }

std::string SockServiceRangesDigest(int fd) {
  MapDigest d;
  char text[kAddrTextMax + 4];  // and "/128"
  ForEachKey<sock_range_key>(fd, [&](const sock_range_key& k) {
    if ((k.pad[0] | k.pad[1] | k.pad[2]) != 0 || !PackedAddr(k.addr, k.family) || k.prefixlen < KPR_SOCK_RANGE_FIXED_BITS) return d.Foreign();
    size_t n = FormatAddrTo(k.addr, k.family, text);
    n += snprintf(text + n, sizeof(text) - n, "/%u", k.prefixlen - KPR_SOCK_RANGE_FIXED_BITS);
    EntryHash h;
    d.Add(h.Text(text, n));
  });
  return d.Text();
}

void CloseSockMaps(SockMapFds& maps) { CloseMapFds(maps, kSockMaps); }

sock_svc_key PackSockServiceKey(const Frontend& fe, uint16_t slot) {
  sock_svc_key k{};
  ParseAddr(fe.addr, k.addr, &k.family);
  k.port = htons(fe.port);
  k.proto = fe.proto;
  k.slot = slot;
  return k;
}

static sock_svc_val PackSockServiceVal(const SockServiceSlot& s) {
  sock_svc_val v{};
  v.backend_id = s.backend_id;
  v.svc_id = s.svc_id;
  v.count = s.count;
  v.flags = s.affinity_timeout > 0 ? KPR_SOCK_F_AFFINITY : 0;
  v.affinity_timeout = s.affinity_timeout;
  return v;
}

static sock_backend PackSockBackend(const SockBackend& b) {
  sock_backend v{};
  ParseAddr(b.addr, v.addr, &v.family);
  v.port = htons(b.port);
  v.svc_id = b.svc_id;
  return v;
}

void UpdateSockServices(int fd, const std::vector<SockServiceSlot>& slots) {
  std::vector<sock_svc_key> keys;
  std::vector<sock_svc_val> values;
  for (const auto& s : slots) {
    keys.push_back(PackSockServiceKey(s.fe, s.slot));
    values.push_back(PackSockServiceVal(s));
  }
  UpdateBatch(fd, "kpr_services", keys, values);
}

std::string SockServicesDigest(int fd) {
  MapDigest d;
  char text[kAddrTextMax];
  ForEach<sock_svc_key, sock_svc_val>(fd, [&](const sock_svc_key& k, const sock_svc_val& v) {
    SockServiceSlot s;
    s.slot = k.slot;
    s.svc_id = v.svc_id;
    s.backend_id = v.backend_id;
    s.count = v.count;
    s.affinity_timeout = (v.flags & KPR_SOCK_F_AFFINITY) ? v.affinity_timeout : 0;
    const sock_svc_val packed = PackSockServiceVal(s);
    if (k.pad != 0 || !PackedAddr(k.addr, k.family) || memcmp(&packed, &v, sizeof(v)) != 0) return d.Foreign();
    EntryHash h;
    h.Text(text, FormatAddrTo(k.addr, k.family, text)).Word(ntohs(k.port)).Word(k.proto).Word(s.slot);
    d.Add(h.Word(s.svc_id).Word(s.backend_id).Word(s.count).Word(s.affinity_timeout));
  });
  return d.Text();
}

void DeleteSockServices(int fd, const std::vector<sock_svc_key>& keys) { DeleteBatch(fd, "kpr_services", keys); }

void UpdateSockBackends(int fd, const std::vector<SockBackend>& backends) {
  std::vector<__u32> keys;
  std::vector<sock_backend> values;
  for (const auto& b : backends) {
    keys.push_back(b.id);
    values.push_back(PackSockBackend(b));
  }
  UpdateBatch(fd, "kpr_backends", keys, values);
}

std::string SockBackendsDigest(int fd) {
  MapDigest d;
  char text[kAddrTextMax];
  ForEach<__u32, sock_backend>(fd, [&](const __u32& id, const sock_backend& v) {
    if (v.flags != 0 || !PackedAddr(v.addr, v.family)) return d.Foreign();
    EntryHash h;
    d.Add(h.Word(id).Text(text, FormatAddrTo(v.addr, v.family, text)).Word(ntohs(v.port)).Word(v.svc_id));
  });
  return d.Text();
}

void DeleteSockBackends(int fd, const std::vector<uint32_t>& ids) {
  DeleteBatch(fd, "kpr_backends", ids);  // uint32_t is the map's __u32 key
}

void ClearDestroyTargets(int fd) { ClearMap(fd, sizeof(sock_destroy_key)); }

void ReplaceDestroyTargets(int fd, const std::vector<SockTarget>& targets) {
  ClearDestroyTargets(fd);
  std::vector<sock_destroy_key> keys;
  std::vector<__u8> values;
  for (const auto& t : targets) {
    sock_destroy_key k{};
    ParseAddr(t.addr, k.addr, &k.family);
    k.port = htons(t.port);
    keys.push_back(k);
    values.push_back(1);
  }
  UpdateBatch(fd, "kpr_destroy", keys, values);
}

std::vector<SockServiceSlot> DumpSockServices(int fd) {
  std::vector<SockServiceSlot> out;
  ForEach<sock_svc_key, sock_svc_val>(fd, [&](const sock_svc_key& k, const sock_svc_val& v) {
    SockServiceSlot s;
    s.fe = Frontend{FormatAddr(k.addr, k.family), ntohs(k.port), k.proto};
    s.slot = k.slot;
    s.svc_id = v.svc_id;
    s.backend_id = v.backend_id;
    s.count = v.count;
    s.affinity_timeout = (v.flags & KPR_SOCK_F_AFFINITY) ? v.affinity_timeout : 0;
    out.push_back(s);
  });
  return out;
}

std::vector<SockBackend> DumpSockBackends(int fd) {
  std::vector<SockBackend> out;
  ForEach<__u32, sock_backend>(fd, [&](const __u32& id, const sock_backend& v) {
    out.push_back(SockBackend{id, FormatAddr(v.addr, v.family), ntohs(v.port), v.svc_id});
  });
  return out;
}

std::vector<SockServiceStats> ReadSockServiceStats(int fd) {
  return ReadServiceCounters<SockServiceStats>(fd, 1, [](uint32_t id, const uint64_t* sums) {
    return SockServiceStats{id, sums[0]};
  });
}

std::vector<uint64_t> ReadSockDrops(int fd) { return SumPerCpuCounters(fd, KPR_SOCK_REASON_MAX); }

}  // namespace kpr

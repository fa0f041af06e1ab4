#include "lb_maps.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <algorithm>
#include <cstring>

#include "bpf_errors.h"
#include "map_batch.h"

namespace kpr {

const char* const kMapNames[7] = {"kpr_services", "kpr_backends", "kpr_affinity", "kpr_revnat",
                                  "kpr_destroy",  "kpr_svc_stats", "kpr_drops"};

void ParseAddr(const std::string& text, uint8_t out[16], uint8_t* family) {
  memset(out, 0, 16);
  if (inet_pton(AF_INET, text.c_str(), out) == 1) {
    *family = KPR_AF_INET;
  } else if (inet_pton(AF_INET6, text.c_str(), out) == 1) {
    *family = KPR_AF_INET6;
  } else {
    throw BpfError("not an IP address: '" + text + "'");
  }
}

std::string FormatAddr(const uint8_t addr[16], uint8_t family) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family == KPR_AF_INET ? AF_INET : AF_INET6, addr, buf, sizeof(buf));
  return buf;
}

uint8_t ProtoFromName(const std::string& name) {
  if (name == "TCP") return KPR_PROTO_TCP;
  if (name == "UDP") return KPR_PROTO_UDP;
  if (name == "SCTP") return KPR_PROTO_SCTP;
  throw BpfError("unknown protocol '" + name + "' (TCP, UDP or SCTP)");
}

std::string ProtoName(uint8_t proto) {
  switch (proto) {
    case KPR_PROTO_TCP: return "TCP";
    case KPR_PROTO_UDP: return "UDP";
    case KPR_PROTO_SCTP: return "SCTP";
    default: return std::to_string(proto);
  }
}

sock_svc_key PackServiceKey(const Frontend& fe, uint16_t slot) {
  sock_svc_key k{};
  ParseAddr(fe.addr, k.addr, &k.family);
  k.port = htons(fe.port);
  k.proto = fe.proto;
  k.slot = slot;
  return k;
}

void UpdateServices(int fd, const std::vector<ServiceSlot>& slots) {
  std::vector<sock_svc_key> keys;
  std::vector<sock_svc_val> values;
  for (const auto& s : slots) {
    keys.push_back(PackServiceKey(s.fe, s.slot));
    sock_svc_val v{};
    v.backend_id = s.backend_id;
    v.svc_id = s.svc_id;
    v.count = s.count;
    v.flags = s.affinity_timeout > 0 ? KPR_SOCK_F_AFFINITY : 0;
    v.affinity_timeout = s.affinity_timeout;
    values.push_back(v);
  }
  UpdateBatch(fd, "kpr_services", keys, values);
}

void DeleteServices(int fd, const std::vector<sock_svc_key>& keys) { DeleteBatch(fd, "kpr_services", keys); }

void UpdateBackends(int fd, const std::vector<Backend>& backends) {
  std::vector<__u32> keys;
  std::vector<sock_backend> values;
  for (const auto& b : backends) {
    keys.push_back(b.id);
    sock_backend v{};
    ParseAddr(b.addr, v.addr, &v.family);
    v.port = htons(b.port);
    v.svc_id = b.svc_id;
    values.push_back(v);
  }
  UpdateBatch(fd, "kpr_backends", keys, values);
}

void DeleteBackends(int fd, const std::vector<uint32_t>& ids) {
  DeleteBatch(fd, "kpr_backends", ids);  // uint32_t is the map's __u32 key
}

void ClearMap(int fd, size_t key_size) {
  std::vector<uint8_t> next(key_size);
  // Deleting while iterating restarts at the first key each time.
  while (bpf_map_get_next_key(fd, nullptr, next.data()) == 0) {
    if (bpf_map_delete_elem(fd, next.data()) != 0 && errno != ENOENT) ThrowErrno("clearing map", errno);
  }
}

void ReplaceDestroyTargets(int fd, const std::vector<SocketTarget>& targets) {
  ClearMap(fd, sizeof(sock_destroy_key));
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

std::vector<ServiceSlot> DumpServices(int fd) {
  std::vector<ServiceSlot> out;
  ForEach<sock_svc_key, sock_svc_val>(fd, [&](const sock_svc_key& k, const sock_svc_val& v) {
    ServiceSlot s;
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

std::vector<Backend> DumpBackends(int fd) {
  std::vector<Backend> out;
  ForEach<__u32, sock_backend>(fd, [&](const __u32& id, const sock_backend& v) {
    out.push_back(Backend{id, FormatAddr(v.addr, v.family), ntohs(v.port), v.svc_id});
  });
  return out;
}

std::vector<uint64_t> SumPerCpuCounters(int fd, uint32_t entries, uint32_t fields) {
  int ncpus = libbpf_num_possible_cpus();
  if (ncpus < 0) ThrowErrno("counting possible CPUs", ncpus);
  bpf_map_info info{};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) ThrowErrno("reading map info", errno);
  // Per-CPU values are laid out at 8-byte strides, one per possible CPU.
  size_t stride = (info.value_size + 7) & ~7u;
  if (fields * sizeof(uint64_t) > info.value_size) throw BpfError("counter fields beyond the map's value");
  const uint32_t n = std::min(entries, info.max_entries);
  std::vector<uint64_t> sums(static_cast<size_t>(n) * fields, 0);
  // Batches: one lookup a key costs a syscall each, 100 ms for the 65537
  // entries of a stats map at the default capacity, on every scrape.
  constexpr uint32_t kBatch = 4096;
  std::vector<__u32> keys(kBatch);
  std::vector<uint8_t> values(kBatch * stride * ncpus);
  __u32 in = 0, out = 0;
  for (bool first = true;; first = false) {
    __u32 count = kBatch;
    int err = bpf_map_lookup_batch(fd, first ? nullptr : &in, &out, keys.data(), values.data(), &count, nullptr);
    if (err && err != -ENOENT) ThrowErrno("reading per-CPU counters", -err);
    for (__u32 k = 0; k < count; k++) {
      if (keys[k] >= n) continue;
      const uint8_t* entry = &values[k * stride * ncpus];
      for (int c = 0; c < ncpus; c++) {
        for (uint32_t f = 0; f < fields; f++) {
          uint64_t v;
          memcpy(&v, entry + c * stride + f * sizeof(v), sizeof(v));
          sums[static_cast<size_t>(keys[k]) * fields + f] += v;
        }
      }
    }
    // ENOENT: that was the last batch.
    if (err || out + 1 >= n) break;
    in = out;
  }
  return sums;
}

int OpenPinnedMap(const std::string& path) {
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) ThrowErrno("opening pinned map " + path, errno);
  return fd;
}

}  // namespace kpr

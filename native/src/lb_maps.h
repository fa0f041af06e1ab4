// The load balancer's maps as plain C++ records: packing of keys and values
// (bpf/include/kpr_sock_types.h), batched writes, dumps and per-CPU counter sums.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

extern "C" {
#include "kpr_sock_types.h"
}

namespace kpr {

// Map names, equal to the pinned file names under <bpf-root>/kpr/maps.
struct MapFds {
  int services = -1;
  int backends = -1;
  int affinity = -1;
  int revnat = -1;
  int destroy = -1;
  int svc_stats = -1;
  int drops = -1;
};

extern const char* const kMapNames[7];

struct Frontend {
  std::string addr;
  uint16_t port;
  uint8_t proto;
};

struct ServiceSlot {
  Frontend fe;
  uint16_t slot;
  uint32_t svc_id;
  uint32_t backend_id;
  uint16_t count;
  uint32_t affinity_timeout;
};

struct Backend {
  uint32_t id;
  std::string addr;
  uint16_t port;
  uint32_t svc_id;
};

struct SocketTarget {
  std::string addr;
  uint16_t port;
};

// Address text <-> map form; throws BpfError naming the bad text.
void ParseAddr(const std::string& text, uint8_t out[16], uint8_t* family);
std::string FormatAddr(const uint8_t addr[16], uint8_t family);
uint8_t ProtoFromName(const std::string& name);
std::string ProtoName(uint8_t proto);

sock_svc_key PackServiceKey(const Frontend& fe, uint16_t slot);

void UpdateServices(int fd, const std::vector<ServiceSlot>& slots);
void DeleteServices(int fd, const std::vector<sock_svc_key>& keys);
void UpdateBackends(int fd, const std::vector<Backend>& backends);
void DeleteBackends(int fd, const std::vector<uint32_t>& ids);
void ReplaceDestroyTargets(int fd, const std::vector<SocketTarget>& targets);
void ClearMap(int fd, size_t key_size);

std::vector<ServiceSlot> DumpServices(int fd);
std::vector<Backend> DumpBackends(int fd);

// Sums a per-CPU array of u64 counters over at most `entries` indexes (fewer
// when the map is smaller). Each value holds `fields` u64 counters (struct
// sock_svc_stats: 1, struct edge_stats: 2); the sum of field f of index i is
// element i * fields + f of the result.
std::vector<uint64_t> SumPerCpuCounters(int fd, uint32_t entries, uint32_t fields = 1);

// Opens a map pinned at path (throws with the path when missing).
int OpenPinnedMap(const std::string& path);

}  // namespace kpr

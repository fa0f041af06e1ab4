// Per-CPU counter arrays (drops, per-service stats of both load balancers)
// summed over the CPUs.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace kpr {

// Sums a per-CPU array of u64 counters over at most `entries` indexes (fewer
// when the map is smaller). Each value holds `fields` u64 counters (struct
// sock_svc_stats: 1, struct edge_stats: 2); the sum of field f of index i is
// element i * fields + f of the result.
std::vector<uint64_t> SumPerCpuCounters(int fd, uint32_t entries, uint32_t fields = 1);

// The services that counted anything in a per-CPU stats array indexed by
// svc_id, each made by make(svc_id, sums) from its `fields` summed counters;
// one whose first counter is 0 never counted and is left out.
template <typename T, typename F>
std::vector<T> ReadServiceCounters(int fd, uint32_t fields, F make) {
  auto sums = SumPerCpuCounters(fd, UINT32_MAX, fields);
  std::vector<T> out;
  for (uint32_t id = 0; id < sums.size() / fields; id++)
    if (sums[static_cast<size_t>(id) * fields]) out.push_back(make(id, &sums[static_cast<size_t>(id) * fields]));
  return out;
}

}  // namespace kpr

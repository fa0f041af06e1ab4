// Per-CPU counter arrays (drops, per-service stats of both load balancers)
// summed over the CPUs.
#pragma once
#include <cstdint>
#include <vector>

namespace kpr {

// Sums a per-CPU array of u64 counters over at most `entries` indexes (fewer
// when the map is smaller). Each value holds `fields` u64 counters (struct
// sock_svc_stats: 1, struct edge_stats: 2); the sum of field f of index i is
// element i * fields + f of the result.
std::vector<uint64_t> SumPerCpuCounters(int fd, uint32_t entries, uint32_t fields = 1);

}  // namespace kpr

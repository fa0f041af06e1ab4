#include "percpu_counters.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>

#include <algorithm>
#include <cstring>

#include "bpf_errors.h"

namespace kpr {

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

}  // namespace kpr

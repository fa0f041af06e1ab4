// The clock the BPF programs stamp flow entries with:
// bpf_ktime_get_coarse_ns() reads CLOCK_MONOTONIC_COARSE.
#pragma once
#include <linux/types.h>
#include <time.h>

namespace kpr {

inline __u64 CoarseNowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<__u64>(ts.tv_sec) * 1000000000ULL + static_cast<__u64>(ts.tv_nsec);
}

}  // namespace kpr

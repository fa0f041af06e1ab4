// Batched map writes and whole-map walks, shared by every map family the
// addon packs (socket LB, edge LB).
#pragma once
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <string>
#include <vector>

#include "bpf_errors.h"

namespace kpr {

// One batched update; the kernel applies entries in order and reports how
// many it applied, so a failure names the first entry it could not write.
template <typename K, typename V>
void UpdateBatch(int fd, const char* what, std::vector<K>& keys, std::vector<V>& values) {
  if (keys.empty()) return;
  __u32 count = keys.size();
  LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
  if (bpf_map_update_batch(fd, keys.data(), values.data(), &count, &opts) != 0) {
    int err = errno;
    ThrowErrno(std::string("updating ") + what + " (wrote " + std::to_string(count) + " of " +
                   std::to_string(keys.size()) + ")",
               err);
  }
}

// Deleting an entry that is already gone is success: a plan may be re-applied
// after a crash half-way through it.
template <typename K>
void DeleteBatch(int fd, const char* what, const std::vector<K>& keys) {
  size_t done = 0;
  while (done < keys.size()) {
    __u32 count = keys.size() - done;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    if (bpf_map_delete_batch(fd, &keys[done], &count, &opts) == 0) return;
    int err = errno;
    if (err != ENOENT) ThrowErrno(std::string("deleting from ") + what, err);
    done += count + 1;  // skip the missing key
  }
}

template <typename K, typename V, typename F>
void ForEach(int fd, F fn) {
  K key{}, next{};
  V value{};
  K* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    if (bpf_map_lookup_elem(fd, &next, &value) == 0) fn(next, value);
    key = next;
    prev = &key;
  }
}

}  // namespace kpr

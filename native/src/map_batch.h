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

// Walks a whole map a chunk at a time: one syscall per chunk rather than two
// per entry (at 10k services, 0.3 s rather than 0.75 s for 210k). The kernel
// resumes from the token it returned (a hash bucket or an array index, both
// no larger than a key), says ENOENT with the last chunk, and ENOSPC when one
// hash bucket alone holds more entries than the chunk has room for.
template <typename K, typename V, typename F>
void ForEach(int fd, F fn) {
  static_assert(sizeof(K) >= sizeof(__u32), "the batch token must fit in a key");
  std::vector<K> keys(1024);
  std::vector<V> values(keys.size());
  K token{};
  bool first = true;
  for (;;) {
    __u32 count = keys.size();
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    int err = bpf_map_lookup_batch(fd, first ? nullptr : &token, &token, keys.data(), values.data(), &count, &opts) == 0 ? 0 : errno;
    if (err != 0 && err != ENOENT && !(err == ENOSPC && count == 0)) ThrowErrno("reading map", err);
    for (__u32 i = 0; i < count; i++) fn(keys[i], values[i]);
    if (err == ENOENT) return;
    if (err == ENOSPC) {
      keys.resize(keys.size() * 2);
      values.resize(keys.size());
      continue;
    }
    first = false;
  }
}

// Every key of a map whose kind has no batch operations (LPM tries, maps
// of maps): one syscall per key, for maps the agent keeps small.
template <typename K, typename F>
void ForEachKey(int fd, F fn) {
  K key{}, next{};
  const K* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    fn(next);
    key = next;
    prev = &key;
  }
  if (errno != ENOENT) ThrowErrno("reading map keys", errno);
}

// Deletes one key at a time, for map kinds without batch deletion; a key
// already gone is success, as with DeleteBatch.
template <typename K>
void DeleteEach(int fd, const char* what, const std::vector<K>& keys) {
  for (const K& k : keys)
    if (bpf_map_delete_elem(fd, &k) != 0 && errno != ENOENT) ThrowErrno(std::string("deleting from ") + what, errno);
}

}  // namespace kpr

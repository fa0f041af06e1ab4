#include "map_migration.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "bpf_errors.h"

namespace kpr {

namespace {

// bpffs refuses names with a dot.
const char kAsideSuffix[] = "__migrating";

bool PerCpu(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}
bool Array(uint32_t type) {
  return type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_ARRAY_OF_MAPS;
}
bool OfMaps(uint32_t type) { return type == BPF_MAP_TYPE_HASH_OF_MAPS || type == BPF_MAP_TYPE_ARRAY_OF_MAPS; }
// Streams of events: nothing in them to carry over.
bool Stream(uint32_t type) { return type == BPF_MAP_TYPE_RINGBUF || type == BPF_MAP_TYPE_PERF_EVENT_ARRAY; }

bpf_map_info InfoOf(int fd, const std::string& what) {
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) ThrowErrno("reading the definition of " + what, errno);
  return info;
}

// Copies from's entries into to, converted when layout is given. only_missing: keep what to already holds.
uint64_t CopyEntries(const std::string& name, int from, int to, const LayoutMigration* layout, bool only_missing) {
  const bpf_map_info info = InfoOf(from, "map " + name), to_info = InfoOf(to, "the new map " + name);
  const uint32_t to_entries = to_info.max_entries;
  // Arrays hold settings the agent writes, and counters: after the first
  // copy, the new map's own values are the ones to keep.
  if (Stream(info.type) || (only_missing && Array(info.type))) return 0;
  const size_t value_size = PerCpu(info.type) ? ((info.value_size + 7) / 8) * 8 * libbpf_num_possible_cpus() : info.value_size;
  std::vector<uint8_t> key(info.key_size), next(info.key_size), value(value_size);
  std::vector<uint8_t> new_key(to_info.key_size), new_value(to_info.value_size);
  const std::vector<uint8_t> zero(value_size);
  uint64_t copied = 0;
  for (void* prev = nullptr; bpf_map_get_next_key(from, prev, next.data()) == 0; prev = key.data()) {
    key = next;
    // An array's slots all exist: the empty ones, and those of ids the new capacity has no room for, stay behind.
    if (Array(info.type) && *reinterpret_cast<uint32_t*>(key.data()) >= to_entries) continue;
    if (bpf_map_lookup_elem(from, key.data(), value.data()) != 0) {
      if (errno == ENOENT) continue;  // deleted meanwhile
      ThrowErrno("migrating map " + name + ": reading an entry", errno);
    }
    if (Array(info.type) && value == zero) continue;
    int err;
    if (OfMaps(info.type)) {
      // Read back as the inner map's id; written as an fd.
      int inner = bpf_map_get_fd_by_id(*reinterpret_cast<uint32_t*>(value.data()));
      if (inner < 0) ThrowErrno("migrating map " + name + ": opening an inner map", errno);
      err = bpf_map_update_elem(to, key.data(), &inner, only_missing ? BPF_NOEXIST : BPF_ANY);
      close(inner);
    } else if (layout) {
      std::fill(new_key.begin(), new_key.end(), 0);
      std::fill(new_value.begin(), new_value.end(), 0);
      layout->convert(key.data(), value.data(), new_key.data(), new_value.data());
      err = bpf_map_update_elem(to, new_key.data(), new_value.data(), only_missing ? BPF_NOEXIST : BPF_ANY);
    } else {
      err = bpf_map_update_elem(to, key.data(), value.data(), only_missing ? BPF_NOEXIST : BPF_ANY);
    }
    if (err != 0 && errno == EEXIST && only_missing) continue;
    if (err != 0 && errno == E2BIG)
      throw BpfError("migrating map " + name + ": it holds more entries than its new capacity of " + std::to_string(to_entries));
    if (err != 0) ThrowErrno("migrating map " + name + ": writing an entry", errno);
    copied++;
  }
  return copied;
}

// bpffs cannot rename: pins the object at to, then unpins from.
void MovePin(const std::string& from, const std::string& to) {
  int fd = bpf_obj_get(from.c_str());
  if (fd < 0) ThrowErrno("opening pinned " + from, errno);
  int err = bpf_obj_pin(fd, to.c_str());
  close(fd);
  if (err != 0) ThrowErrno("pinning " + from + " at " + to, errno);
  if (unlink(from.c_str()) != 0) ThrowErrno("unpinning " + from, errno);
}

std::string Layout(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t flags) {
  return std::string(libbpf_bpf_map_type_str(static_cast<bpf_map_type>(type)) ?: "?") + ", key " + std::to_string(key_size) +
         " bytes, value " + std::to_string(value_size) + " bytes, flags " + std::to_string(flags);
}

// A per-CPU value is one per CPU: no conversion knows that shape.
const LayoutMigration* Convertible(const std::string& name, const bpf_map_info& pinned, bpf_map* wanted) {
  if (pinned.map_flags != bpf_map__map_flags(wanted) || PerCpu(pinned.type) || PerCpu(bpf_map__type(wanted))) return nullptr;
  return FindLayoutMigration(name, pinned.type, pinned.key_size, pinned.value_size, bpf_map__type(wanted));
}

}  // namespace

MapMigrations::MapMigrations(bpf_object* obj, const std::string& map_dir) : obj_(obj) {
  bpf_map* map;
  try {
    bpf_object__for_each_map(map, obj) {
      const char* pin = bpf_map__pin_path(map);
      if (!pin) continue;
      const std::string name = bpf_map__name(map), aside = std::string(pin) + kAsideSuffix;
      if (access(aside.c_str(), F_OK) == 0) {
        if (unlink(pin) != 0 && errno != ENOENT) ThrowErrno("removing the half-migrated map " + std::string(pin), errno);
        MovePin(aside, pin);
      }
      int fd = bpf_obj_get(pin);
      if (fd < 0) {
        if (errno == ENOENT) continue;
        ThrowErrno("opening pinned map " + std::string(pin), errno);
      }
      const bpf_map_info info = InfoOf(fd, std::string("pinned map ") + pin);
      const std::string pinned = Layout(info.type, info.key_size, info.value_size, info.map_flags);
      const std::string wanted = Layout(bpf_map__type(map), bpf_map__key_size(map), bpf_map__value_size(map), bpf_map__map_flags(map));
      const LayoutMigration* layout = pinned == wanted ? nullptr : Convertible(name, info, map);
      if (pinned != wanted && !layout) {
        close(fd);
        throw BpfError("map " + name + " pinned under " + map_dir + " has another layout (" + pinned + "; this build's: " + wanted +
                       "): no migration is known for it; unpinning it starts the map empty");
      }
      if (!layout && info.max_entries == bpf_map__max_entries(map)) {
        close(fd);
        continue;
      }
      try {
        MovePin(pin, aside);
      } catch (...) {
        close(fd);
        throw;
      }
      pending_.push_back(Pending{name, pin, aside, fd, info.max_entries, bpf_map__max_entries(map), layout});
    }
  } catch (...) {
    Release();
    throw;
  }
}

MapMigrations::~MapMigrations() { Release(); }

void MapMigrations::Release() {
  for (auto& p : pending_) {
    if (!finished_) {
      // A failed load unpinned the map it made; a failed copy left it pinned.
      unlink(p.pin.c_str());
      if (bpf_obj_pin(p.old_fd, p.pin.c_str()) == 0) unlink(p.aside.c_str());
    }
    if (p.old_fd >= 0) close(p.old_fd);
    p.old_fd = -1;
  }
  pending_.clear();
}

void MapMigrations::Finish() {
  for (const auto& p : pending_) {
    int to = bpf_map__fd(bpf_object__find_map_by_name(obj_, p.name.c_str()));
    migrated_.push_back({p.name, p.from_entries, p.to_entries, CopyEntries(p.name, p.old_fd, to, p.layout, false),
                         p.layout ? p.layout->what : ""});
  }
  finished_ = true;
  for (const auto& p : pending_) unlink(p.aside.c_str());
}

uint64_t MapMigrations::Settle() {
  uint64_t copied = 0;
  for (auto& p : pending_) {
    int to = bpf_map__fd(bpf_object__find_map_by_name(obj_, p.name.c_str()));
    copied += CopyEntries(p.name, p.old_fd, to, p.layout, true);
    close(p.old_fd);
    p.old_fd = -1;
  }
  pending_.clear();
  return copied;
}

}  // namespace kpr

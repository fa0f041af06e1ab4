// Opening and loading any of our BPF objects with its maps pinned (and
// re-used or migrated when already pinned) under the agent's map directory,
// and opening pinned maps by path. Each load balancer's own loading is in
// sock_maps.h and edge_maps.h.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

#include "map_migration.h"

struct bpf_object;

namespace kpr {

// The migrations of the maps a load found pinned at another capacity, to
// be settled once the new programs are attached.
using Migrations = std::vector<std::shared_ptr<MapMigrations>>;

// The capacity of one map of an object; `inner` sizes the inner map template
// of a map-of-maps instead of the map itself.
struct MapCapacity {
  const char* name;
  uint32_t entries;
  bool inner = false;
};

// Opens any of our objects with its maps pinned under map_dir (re-using the
// pinned ones, migrating those of another capacity), sizes the maps listed
// and loads it. Throws BpfError with the errno text and the tail of libbpf's
// log, which holds the verifier's output when a program is rejected.
bpf_object* OpenAndLoad(const std::string& object_path, const std::string& map_dir,
                        const std::vector<MapCapacity>& capacities, Migrations& migrations);

// The fd of a map of a loaded object; throws when the object has no such map.
int MapFd(bpf_object* obj, const char* name);

// The kernel's id of each program of a loaded object, by program name: what
// the agent compares with the programs it finds on its hooks.
std::map<std::string, uint32_t> ProgramIds(bpf_object* obj);

// The instructions the verifier walked for each program of a loaded object,
// by program name: it refuses a program past a million, so the distance to
// that is what a change to the programs may still add.
std::map<std::string, uint32_t> VerifiedInsns(bpf_object* obj);

// Opens a map pinned at path (throws with the path when missing).
int OpenPinnedMap(const std::string& path);
// The same for a map that may not be pinned (yet): -1 when nothing is.
int OpenPinnedMapIfAny(const std::string& path);

// The maps a load balancer's addon code uses: each field of its struct of
// fds, with the map's pinned name.
template <typename Fds>
using MapTable = std::pair<int Fds::*, const char*>;

template <typename Fds, size_t N>
Fds MapFdsOf(bpf_object* obj, const MapTable<Fds> (&table)[N]) {
  Fds fds;
  for (auto [fd, name] : table) fds.*fd = MapFd(obj, name);
  return fds;
}

template <typename Fds, size_t N>
void CloseMapFds(Fds& fds, const MapTable<Fds> (&table)[N]) {
  for (auto [fd, name] : table) {
    if (fds.*fd >= 0) close(fds.*fd);
    fds.*fd = -1;
  }
}

// The maps of table pinned in map_dir, opened by path without loading
// anything: for readers while an agent runs (or after). The caller closes them.
template <typename Fds, size_t N>
Fds OpenPinnedMapFds(const std::string& map_dir, const MapTable<Fds> (&table)[N]) {
  Fds fds;
  try {
    for (auto [fd, name] : table) fds.*fd = OpenPinnedMap(map_dir + "/" + name);
  } catch (...) {
    CloseMapFds(fds, table);
    throw;
  }
  return fds;
}

// Creates dir and its parents (mode 0700: pinned state is root's only).
void MakeDirs(const std::string& dir);

}  // namespace kpr

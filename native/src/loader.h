// Opens and loads our BPF objects (bpf/sock_lb.o, bpf/xdp_lb.o) with their
// maps pinned (and re-used when already pinned) under the agent's map directory.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lb_maps.h"
#include "map_migration.h"

struct bpf_object;

namespace kpr {

struct LoadOptions {
  std::string object_path;
  std::string map_dir;
  uint32_t lb_map_max;
  uint32_t revnat_map_max;
};

// The migrations of the maps a load found pinned at another capacity, to
// be settled once the new programs are attached.
using Migrations = std::vector<std::shared_ptr<MapMigrations>>;

struct LoadedObject {
  bpf_object* obj = nullptr;
  MapFds maps;
  Migrations migrations;
};

// Throws BpfError with the errno text and the tail of libbpf's log, which
// holds the verifier's output when a program is rejected.
LoadedObject LoadObject(const LoadOptions& opts);

// The capacity of one map of an object; `inner` sizes the inner map template
// of a map-of-maps instead of the map itself.
struct MapCapacity {
  const char* name;
  uint32_t entries;
  bool inner = false;
};

// Opens any of our objects with its maps pinned under map_dir (re-using the
// pinned ones, migrating those of another capacity), sizes the maps listed
// and loads it; errors as LoadObject's.
bpf_object* OpenAndLoad(const std::string& object_path, const std::string& map_dir,
                        const std::vector<MapCapacity>& capacities, Migrations& migrations);

// The fd of a map of a loaded object; throws when the object has no such map.
int MapFd(bpf_object* obj, const char* name);

// The kernel's id of each program of a loaded object, by program name: what
// the agent compares with the programs it finds on its hooks.
std::map<std::string, uint32_t> ProgramIds(bpf_object* obj);

// Opens every map pinned in map_dir; for readers while no agent runs.
MapFds OpenPinnedMaps(const std::string& map_dir);

// Creates dir and its parents (mode 0700: pinned state is root's only).
void MakeDirs(const std::string& dir);

}  // namespace kpr

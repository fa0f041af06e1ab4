// Opens and loads bpf/sock_lb.o with its maps pinned (and re-used when
// already pinned) under the agent's map directory.
#pragma once
#include <string>

#include "lb_maps.h"

struct bpf_object;

namespace kpr {

struct LoadOptions {
  std::string object_path;
  std::string map_dir;
  uint32_t lb_map_max;
  uint32_t revnat_map_max;
};

struct LoadedObject {
  bpf_object* obj = nullptr;
  MapFds maps;
};

// Throws BpfError with the errno text and the tail of libbpf's log, which
// holds the verifier's output when a program is rejected.
LoadedObject LoadObject(const LoadOptions& opts);

// Opens every map pinned in map_dir; for readers while no agent runs.
MapFds OpenPinnedMaps(const std::string& map_dir);

// Creates dir and its parents (mode 0700: pinned state is root's only).
void MakeDirs(const std::string& dir);

}  // namespace kpr

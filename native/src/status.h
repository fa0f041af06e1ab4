// What `kpr status` reports of the kernel's side, read without the agent:
// the pinned maps and how full they are, the pinned cgroup links and their
// programs, and kpr's XDP and tc programs on this namespace's devices.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace kpr {

struct PinnedMapInfo {
  std::string name;
  std::string type;  // libbpf's name of the map type: "hash", "lru_hash", ...
  uint32_t max_entries;
  int64_t entries;   // -1: not counted (arrays are always full; rings, maps of maps)
};

struct PinnedLinkInfo {
  std::string name;
  std::string program;  // empty: the link lost its program
  std::string attach_type;
  uint64_t cgroup_id;
};

struct DeviceAttachment {
  std::string device;
  std::string xdp_program;  // empty: none
  std::string xdp_mode;     // "native", "generic", "offload"
  std::string tc_ingress;   // kpr's filter slot (handle 1, priority 1); empty: none
  std::string tc_egress;
};

std::vector<PinnedMapInfo> PinnedMaps(const std::string& map_dir);
std::vector<PinnedLinkInfo> PinnedLinks(const std::string& link_dir);
// Devices of the caller's network namespace that carry any XDP program or
// a filter in kpr's tc slot.
std::vector<DeviceAttachment> DeviceAttachments();

}  // namespace kpr

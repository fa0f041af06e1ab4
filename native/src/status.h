// What `kpr status` reports of the kernel's side, read without the agent:
// the pinned maps and how full they are, the pinned cgroup links and their
// programs, and kpr's XDP and tc programs on this namespace's devices. The
// agent's full sync reads the links and devices the same way, to find a
// program taken off its hook.
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
  uint32_t prog_id;
  std::string attach_type;
  uint64_t cgroup_id;  // 0: detached from its cgroup
};

// Programs by the kernel's name (15 characters at most) and id; id 0: none.
struct DeviceAttachment {
  std::string device;
  std::string xdp_program;
  uint32_t xdp_id;
  std::string xdp_mode;     // "native", "generic", "offload"
  std::string tc_ingress;   // kpr's filter slot (handle 1, priority 1)
  uint32_t tc_ingress_id;
  std::string tc_egress;
  uint32_t tc_egress_id;
};

// `kpr cleanup`: takes every kpr program (named kpr_*) off the XDP hooks and
// kpr's tc slots of this namespace's devices; what it took off, one line each
// ("xdp kpr_xdp_lb on eth0").
std::vector<std::string> DetachKprFromDevices();

std::vector<PinnedMapInfo> PinnedMaps(const std::string& map_dir);
std::vector<PinnedLinkInfo> PinnedLinks(const std::string& link_dir);
// Devices of the caller's network namespace that carry any XDP program or
// a filter in kpr's tc slot, and those of `also` that carry nothing.
std::vector<DeviceAttachment> DeviceAttachments(const std::vector<std::string>& also);
// The devices of `names` that exist in the caller's network namespace, and
// what they carry: a few netlink queries a device, for the agent's check.
std::vector<DeviceAttachment> NamedDeviceAttachments(const std::vector<std::string>& names);

}  // namespace kpr

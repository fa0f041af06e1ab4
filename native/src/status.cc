#include "status.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <linux/if_link.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <tuple>

#include "bpf_errors.h"
#include "edge_attach.h"
#include "owned_fd.h"

namespace kpr {

namespace {

std::string ProgName(__u32 id) {
  if (id == 0) return "";
  OwnedFd fd(bpf_prog_get_fd_by_id(id));
  bpf_prog_info info{};
  __u32 len = sizeof(info);
  if (fd.fd < 0 || bpf_obj_get_info_by_fd(fd.fd, &info, &len) != 0) return "id " + std::to_string(id);
  return info.name;
}

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (!d && errno == ENOENT) return names;  // nothing pinned there (yet)
  if (!d) ThrowErrno("reading " + dir, errno);
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') names.push_back(e->d_name);
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// One syscall a key: status is asked for now and then, and needs no more
// than every map kind answers.
int64_t CountEntries(int fd, const bpf_map_info& info) {
  std::vector<uint8_t> key(info.key_size), next(info.key_size);
  int64_t total = 0;
  for (const void* prev = nullptr; bpf_map_get_next_key(fd, prev, next.data()) == 0; prev = key.data()) {
    key = next;
    total++;
  }
  return total;
}

// A device holds one XDP program outside offload; with one offloaded
// beside it (XDP_ATTACHED_MULTI) the kernel reports each by mode.
void ReadXdp(int ifindex, DeviceAttachment& d) {
  LIBBPF_OPTS(bpf_xdp_query_opts, q);
  if (bpf_xdp_query(ifindex, 0, &q) != 0) return;
  d.xdp_id = q.prog_id ? q.prog_id : q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id;
  if (!d.xdp_id) return;
  d.xdp_program = ProgName(d.xdp_id);
  const bool generic = q.attach_mode == XDP_ATTACHED_SKB || (q.attach_mode == XDP_ATTACHED_MULTI && d.xdp_id == q.skb_prog_id);
  d.xdp_mode = generic ? "generic" : q.attach_mode == XDP_ATTACHED_HW ? "offload" : "native";
}

DeviceAttachment ReadDevice(const std::string& name, int ifindex) {
  DeviceAttachment d{name, "", 0, "", "", 0, "", 0};
  ReadXdp(ifindex, d);
  d.tc_ingress_id = TcSlotProgramId(ifindex, BPF_TC_INGRESS);
  d.tc_ingress = ProgName(d.tc_ingress_id);
  d.tc_egress_id = TcSlotProgramId(ifindex, BPF_TC_EGRESS);
  d.tc_egress = ProgName(d.tc_egress_id);
  return d;
}

}  // namespace

std::vector<PinnedMapInfo> PinnedMaps(const std::string& map_dir) {
  std::vector<PinnedMapInfo> out;
  for (const auto& name : Entries(map_dir)) {
    OwnedFd fd(bpf_obj_get((map_dir + "/" + name).c_str()));
    if (fd.fd < 0) ThrowErrno("opening " + map_dir + "/" + name, errno);
    bpf_map_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd.fd, &info, &len) != 0) ThrowErrno("reading " + name, errno);
    const char* type = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(info.type));
    bool countable = info.type == BPF_MAP_TYPE_HASH || info.type == BPF_MAP_TYPE_LRU_HASH ||
                     info.type == BPF_MAP_TYPE_PERCPU_HASH || info.type == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
                     info.type == BPF_MAP_TYPE_LPM_TRIE || info.type == BPF_MAP_TYPE_HASH_OF_MAPS;
    out.push_back(PinnedMapInfo{name, type ? type : "unknown", info.max_entries, countable ? CountEntries(fd.fd, info) : -1});
  }
  return out;
}

std::vector<PinnedLinkInfo> PinnedLinks(const std::string& link_dir) {
  std::vector<PinnedLinkInfo> out;
  for (const auto& name : Entries(link_dir)) {
    OwnedFd fd(bpf_obj_get((link_dir + "/" + name).c_str()));
    if (fd.fd < 0) ThrowErrno("opening " + link_dir + "/" + name, errno);
    bpf_link_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd.fd, &info, &len) != 0) ThrowErrno("reading " + name, errno);
    bool cgroup = info.type == BPF_LINK_TYPE_CGROUP;
    const char* at = cgroup ? libbpf_bpf_attach_type_str(static_cast<bpf_attach_type>(info.cgroup.attach_type)) : nullptr;
    out.push_back(PinnedLinkInfo{name, ProgName(info.prog_id), info.prog_id, at ? at : "", cgroup ? info.cgroup.cgroup_id : 0});
  }
  return out;
}

std::vector<DeviceAttachment> DeviceAttachments(const std::vector<std::string>& also) {
  std::vector<DeviceAttachment> out;
  struct if_nameindex* ifs = if_nameindex();
  if (!ifs) ThrowErrno("listing devices", errno);
  for (struct if_nameindex* i = ifs; i->if_index != 0; i++) {
    DeviceAttachment d = ReadDevice(i->if_name, static_cast<int>(i->if_index));
    bool carries = d.xdp_id || d.tc_ingress_id || d.tc_egress_id;
    if (carries || std::find(also.begin(), also.end(), d.device) != also.end()) out.push_back(d);
  }
  if_freenameindex(ifs);
  return out;
}

std::vector<std::string> DetachKprFromDevices() {
  std::vector<std::string> out;
  const auto kprs = [](const std::string& name) { return name.rfind("kpr_", 0) == 0; };
  for (const DeviceAttachment& d : DeviceAttachments({})) {
    const int ifindex = static_cast<int>(if_nametoindex(d.device.c_str()));
    if (ifindex == 0) continue;  // gone meanwhile
    if (kprs(d.xdp_program)) {
      DetachXdp(ifindex);
      out.push_back("xdp " + d.xdp_program + " on " + d.device);
    }
    for (auto [point, prog, dir] : {std::tuple{BPF_TC_INGRESS, d.tc_ingress, "ingress"}, std::tuple{BPF_TC_EGRESS, d.tc_egress, "egress"}}) {
      if (!kprs(prog)) continue;
      DetachTc(ifindex, point);
      out.push_back(std::string("tc ") + dir + " " + prog + " on " + d.device);
    }
  }
  return out;
}

std::vector<DeviceAttachment> NamedDeviceAttachments(const std::vector<std::string>& names) {
  std::vector<DeviceAttachment> out;
  for (const auto& name : names) {
    unsigned idx = if_nametoindex(name.c_str());
    if (idx != 0) out.push_back(ReadDevice(name, static_cast<int>(idx)));
  }
  return out;
}

}  // namespace kpr

#include "edge_attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>

#include <cerrno>

#include "bpf_errors.h"

namespace kpr {

namespace {

int IfIndex(const std::string& ifname) {
  unsigned idx = if_nametoindex(ifname.c_str());
  if (idx == 0) ThrowErrno("device " + ifname, errno);
  return static_cast<int>(idx);
}

__u32 XdpFlags(XdpMode mode) { return mode == XdpMode::kNative ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE; }

const char* ModeName(XdpMode mode) { return mode == XdpMode::kNative ? "native" : "generic"; }

}  // namespace

AttachOutcome AttachXdp(const std::string& ifname, bpf_program* prog, XdpMode mode) {
  int ifindex = IfIndex(ifname);
  LIBBPF_OPTS(bpf_xdp_query_opts, q);
  int err = bpf_xdp_query(ifindex, 0, &q);
  if (err) ThrowErrno("querying XDP on " + ifname, -err);
  const bool present = q.prog_id != 0;
  // A device holds one XDP mode at a time: a program already there keeps
  // its mode (a new one replaces it atomically), unless a mode is forced.
  if (mode == XdpMode::kAuto && present) mode = q.attach_mode == XDP_ATTACHED_SKB ? XdpMode::kGeneric : XdpMode::kNative;
  if (present && q.attach_mode != (mode == XdpMode::kNative ? XDP_ATTACHED_DRV : XDP_ATTACHED_SKB)) {
    throw BpfError("device " + ifname + " has an XDP program in another mode; detach it first (ip link set dev " + ifname +
                   " xdp off)");
  }
  const int fd = bpf_program__fd(prog);
  if (mode == XdpMode::kAuto) {
    err = bpf_xdp_attach(ifindex, fd, XdpFlags(XdpMode::kNative), nullptr);
    mode = err ? XdpMode::kGeneric : XdpMode::kNative;
    if (err) err = bpf_xdp_attach(ifindex, fd, XdpFlags(XdpMode::kGeneric), nullptr);
  } else {
    err = bpf_xdp_attach(ifindex, fd, XdpFlags(mode), nullptr);
  }
  if (err) ThrowErrno(std::string("attaching XDP (") + ModeName(mode) + ") to " + ifname, -err);
  return AttachOutcome{ModeName(mode), present ? "replaced" : "created"};
}

uint32_t TcSlotProgramId(int ifindex, int attach_point) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = static_cast<bpf_tc_attach_point>(attach_point));
  LIBBPF_OPTS(bpf_tc_opts, query, .handle = kTcHandle, .priority = kTcPriority);
  LibbpfLogCapture quiet;  // "no such filter" is an answer here, not an error
  return bpf_tc_query(&hook, &query) == 0 ? query.prog_id : 0;
}

AttachOutcome AttachTc(const std::string& ifname, bpf_program* ingress, bpf_program* egress) {
  int ifindex = IfIndex(ifname);
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS));
  int err = bpf_tc_hook_create(&hook);  // the clsact qdisc
  if (err && err != -EEXIST) ThrowErrno("creating the clsact qdisc on " + ifname, -err);
  bool replaced = false;
  for (auto [point, prog] : {std::pair{BPF_TC_INGRESS, ingress}, std::pair{BPF_TC_EGRESS, egress}}) {
    if (!prog) continue;
    const char* dir = point == BPF_TC_INGRESS ? "ingress" : "egress";
    hook.attach_point = point;
    replaced |= TcSlotProgramId(ifindex, point) != 0;
    LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = bpf_program__fd(prog), .flags = BPF_TC_F_REPLACE, .handle = kTcHandle,
                .priority = kTcPriority);
    err = bpf_tc_attach(&hook, &opts);
    if (err) ThrowErrno(std::string("attaching tc ") + dir + " to " + ifname, -err);
  }
  return AttachOutcome{"tc", replaced ? "replaced" : "created"};
}

void DetachXdp(int ifindex) {
  LIBBPF_OPTS(bpf_xdp_query_opts, q);
  int err = bpf_xdp_query(ifindex, 0, &q);
  if (err) ThrowErrno("querying XDP on ifindex " + std::to_string(ifindex), -err);
  const __u32 flags = q.attach_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
  err = bpf_xdp_detach(ifindex, flags, nullptr);
  if (err) ThrowErrno("detaching XDP from ifindex " + std::to_string(ifindex), -err);
}

void DetachTc(int ifindex, int attach_point) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = static_cast<bpf_tc_attach_point>(attach_point));
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
  const int err = bpf_tc_detach(&hook, &opts);
  if (err && err != -ENOENT) ThrowErrno("detaching a tc filter from ifindex " + std::to_string(ifindex), -err);
}

}  // namespace kpr

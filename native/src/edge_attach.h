// Attaching the edge LB to a device: kpr_xdp_lb on its XDP hook, and
// tc_dsr.c's programs on its tc ingress and egress. Both attachments belong
// to the device, not to the agent: they keep working while no agent runs,
// and a new agent replaces the programs in place.
#pragma once
#include <cstdint>
#include <string>

struct bpf_program;

namespace kpr {

// kpr's own slot among a device's tc filters: a fixed handle and priority,
// so that a new agent finds and replaces its predecessor's filter.
constexpr uint32_t kTcHandle = 1;
constexpr uint32_t kTcPriority = 1;

// "native": in the driver; "generic": in the stack, for any device;
// "auto": native where the driver can, else generic.
enum class XdpMode { kNative, kGeneric, kAuto };

struct AttachOutcome {
  std::string mode;    // XDP: "native" or "generic"; tc: "tc"
  std::string action;  // "created" or "replaced"
};

AttachOutcome AttachXdp(const std::string& ifname, bpf_program* prog, XdpMode mode);

// The id of the program in kpr's tc slot of a device's ingress or egress
// (BPF_TC_INGRESS / BPF_TC_EGRESS); 0: none there.
uint32_t TcSlotProgramId(int ifindex, int attach_point);

// Puts ingress and egress in kpr's slot of the device's tc hooks (creating
// its clsact qdisc if need be); a null program leaves that direction as it is.
AttachOutcome AttachTc(const std::string& ifname, bpf_program* ingress, bpf_program* egress);

// Takes the device's XDP program off (whatever it is: the caller has checked).
void DetachXdp(int ifindex);
// Takes the filter in kpr's slot of the device's tc ingress or egress off.
void DetachTc(int ifindex, int attach_point);

}  // namespace kpr

// Where the agent wants its programs, pinned beside its maps: `kpr status`
// reads it to tell a program missing from its hook, also while no agent
// runs. The agent rewrites it whenever that set changes. No BPF program
// reads this map, so its layout lives here rather than in bpf/include/.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace kpr {

// The pinned name, under the agent's map directory.
constexpr const char* kAttachRecordMap = "kpr_attachments";
// Rows the record holds: the socket LB's cgroup programs and three per edge device.
constexpr uint32_t kAttachRecordMax = 1024;

struct WantedAttachment {
  std::string program;  // the program's full name, e.g. kpr_tc_dsr_ingress
  std::string hook;     // "cgroup", "xdp", "tc_ingress" or "tc_egress"
  std::string device;   // the device of the xdp and tc hooks; empty for the cgroup
  uint64_t scope;       // cgroup: its id; device hooks: the network namespace's inode
  uint32_t prog_id;     // the program the agent attached
};

// Replaces the record's rows with `rows`, creating it (or re-creating one of
// another layout) as needed.
void WriteAttachRecord(const std::string& map_dir, const std::vector<WantedAttachment>& rows);

// The record's rows; none when no agent has written one under map_dir.
std::vector<WantedAttachment> ReadAttachRecord(const std::string& map_dir);

}  // namespace kpr

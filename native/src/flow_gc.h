// The garbage collector of per-flow state: what the BPF programs write per
// connection (the edge LB's flow, affinity, snat and reverse-NAT entries)
// is deleted once its flow has ended or idled out (kpr_flow_lifetime.h), as
// conntrack deletes its entries for kube-proxy; and every such map's
// occupancy is counted, the socket LB's LRU maps included (their entries
// belong to sockets, which the LRU alone retires).
//
// It works in steps of a bounded number of entries per map, each resuming
// where the last stopped, so that its cost per second is bounded whatever
// the maps hold; a map's count is known once a pass over it is done. It
// opens the maps by their pins, beside a running agent's programs. Each step
// also ticks the datapath clock (kpr_flow_lifetime.h), which flows that
// carry on read their time from.
#pragma once
#include <linux/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kpr {

struct FlowGcReport {
  std::string map;
  uint64_t visited = 0;  // entries read in this step
  uint64_t deleted = 0;  // entries deleted in this step
  bool pass_done = false;
  // Entries left by the last finished pass; -1 before the first.
  int64_t live = -1;
};

class FlowGc {
 public:
  // The maps pinned in map_dir that exist there (an agent without the edge
  // LB has none of its maps).
  explicit FlowGc(const std::string& map_dir);
  ~FlowGc();
  FlowGc(const FlowGc&) = delete;
  FlowGc& operator=(const FlowGc&) = delete;

  // Visits up to budget entries of each map.
  std::vector<FlowGcReport> Step(size_t budget);

  struct Collected;

 private:
  void Close();

  std::vector<std::unique_ptr<Collected>> maps_;
  // This collector's first second, and the clock at the last tick of the
  // agent before it (0: none): flows seen since then count as seen now.
  __u32 started_s_ = 0;
  __u32 unticked_from_s_ = 0;
  int config_fd_ = -1;
  int frontends_fd_ = -1;
  // Maps the judges read beside the one they walk.
  std::vector<int> extra_fds_;
};

}  // namespace kpr

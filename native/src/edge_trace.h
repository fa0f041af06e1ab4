// `kpr trace`: switching the edge LB's decision trace on and off through its
// pinned control map, and reading the decisions from its ring buffer.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

extern "C" {
#include "kpr_edge_types.h"
}

struct ring_buffer;

namespace kpr {

struct TraceFilter {
  std::string frontend_addr;  // empty: any frontend
  uint16_t frontend_port = 0; // 0: any port
  uint8_t frontend_proto = 0; // 0: any protocol
  std::string client_addr;    // empty: any client
};

// Where the ring buffer's callback puts decisions: those of this session only.
struct TraceSink {
  std::vector<edge_trace_event> events;
  uint64_t since_ns = 0;  // the session's start, on bpf_ktime_get_coarse_ns()'s clock
};

class EdgeTrace {
 public:
  explicit EdgeTrace(const std::string& map_dir);
  ~EdgeTrace();
  EdgeTrace(const EdgeTrace&) = delete;
  EdgeTrace& operator=(const EdgeTrace&) = delete;

  // Turns tracing on for lease_ms (or renews it), for what filter matches.
  void Start(const TraceFilter& filter, uint32_t lease_ms);
  void Renew(uint32_t lease_ms);
  void Stop();
  // Decisions recorded since the last call, waiting up to timeout_ms for the first.
  std::vector<edge_trace_event> Poll(int timeout_ms);
  // Decisions the ring buffer had no room for, since tracing began.
  uint64_t Lost();
  void Close();

 private:
  edge_trace_ctl ReadCtl();
  void WriteCtl(const edge_trace_ctl& c);

  int ctl_fd_ = -1;
  int ring_fd_ = -1;
  ring_buffer* ring_ = nullptr;
  TraceSink sink_;
};

}  // namespace kpr

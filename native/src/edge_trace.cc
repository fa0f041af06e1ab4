#include "edge_trace.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bpf_errors.h"
#include "addr_text.h"
#include "loader.h"

namespace kpr {

namespace {

// The clock of bpf_ktime_get_coarse_ns().
uint64_t CoarseNowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

int Collect(void* ctx, void* data, size_t size) {
  auto* sink = static_cast<TraceSink*>(ctx);
  if (size >= sizeof(edge_trace_event)) {
    edge_trace_event e;
    memcpy(&e, data, sizeof(e));
    if (e.ts_ns >= sink->since_ns) sink->events.push_back(e);
  }
  return 0;
}

}  // namespace

EdgeTrace::EdgeTrace(const std::string& map_dir) {
  ctl_fd_ = OpenPinnedMap(map_dir + "/kpr_xdp_trace_ctl");
  try {
    ring_fd_ = OpenPinnedMap(map_dir + "/kpr_xdp_trace");
    ring_ = ring_buffer__new(ring_fd_, Collect, &sink_, nullptr);
    if (!ring_) ThrowErrno("opening the trace ring buffer", errno);
  } catch (...) {
    Close();
    throw;
  }
}

EdgeTrace::~EdgeTrace() { Close(); }

void EdgeTrace::Close() {
  if (ring_) ring_buffer__free(ring_);
  ring_ = nullptr;
  for (int* fd : {&ctl_fd_, &ring_fd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

edge_trace_ctl EdgeTrace::ReadCtl() {
  if (ctl_fd_ < 0) throw BpfError("the trace is closed");
  edge_trace_ctl c{};
  __u32 zero = 0;
  if (bpf_map_lookup_elem(ctl_fd_, &zero, &c) != 0) ThrowErrno("reading kpr_xdp_trace_ctl", errno);
  return c;
}

void EdgeTrace::WriteCtl(const edge_trace_ctl& c) {
  __u32 zero = 0;
  if (bpf_map_update_elem(ctl_fd_, &zero, &c, BPF_ANY) != 0) ThrowErrno("writing kpr_xdp_trace_ctl", errno);
}

void EdgeTrace::Start(const TraceFilter& f, uint32_t lease_ms) {
  edge_trace_ctl c{};
  if (!f.frontend_addr.empty()) {
    ParseAddr(f.frontend_addr, c.frontend_addr, &c.frontend_family);
    c.frontend_port = htons(f.frontend_port);
    c.frontend_proto = f.frontend_proto;
  }
  if (!f.client_addr.empty()) ParseAddr(f.client_addr, c.client_addr, &c.client_family);
  // What an earlier session left unread (a reader ended by --count or by its
  // pipe) is not this session's: drop it, and whatever a lease still running
  // for a reader that died records before this filter takes over.
  if (!ring_) throw BpfError("the trace is closed");
  sink_.since_ns = CoarseNowNs();
  ring_buffer__consume(ring_);
  sink_.events.clear();
  c.until_ns = sink_.since_ns + lease_ms * 1000000ull;
  WriteCtl(c);
}

void EdgeTrace::Renew(uint32_t lease_ms) {
  edge_trace_ctl c = ReadCtl();
  c.until_ns = CoarseNowNs() + lease_ms * 1000000ull;
  WriteCtl(c);
}

void EdgeTrace::Stop() {
  edge_trace_ctl c = ReadCtl();
  c.until_ns = 0;
  WriteCtl(c);
}

std::vector<edge_trace_event> EdgeTrace::Poll(int timeout_ms) {
  if (!ring_) throw BpfError("the trace is closed");
  sink_.events.clear();
  int n = ring_buffer__poll(ring_, timeout_ms);
  if (n < 0 && n != -EINTR) ThrowErrno("reading the trace ring buffer", -n);
  std::vector<edge_trace_event> out;
  out.swap(sink_.events);
  return out;
}

uint64_t EdgeTrace::Lost() { return ReadCtl().lost; }

}  // namespace kpr

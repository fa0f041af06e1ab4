// BPF_PROG_TEST_RUN of a loaded program on one packet: packet-level tests and
// per-packet cost benchmarks without any network traffic.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

struct bpf_program;

namespace kpr {

struct TestRunOptions {
  uint32_t repeat = 1;
  // Network namespace to run in (its routes and neighbours serve
  // bpf_fib_lookup); empty = the caller's.
  std::string netns_path;
  // The XDP ingress device inside that namespace; 0 = its loopback. Not
  // for tc programs, whose test runs have no device.
  uint32_t ingress_ifindex = 0;
};

struct TestRunResult {
  uint32_t retval;
  std::vector<uint8_t> packet;
  uint32_t duration_ns;  // average per run, as the kernel measures it
};

TestRunResult ProgTestRun(bpf_program* prog, const std::vector<uint8_t>& packet,
                          const TestRunOptions& opts);

// Many packets in one go (fuzzing): one namespace switch for all of them,
// each run on its own packet and map state left by the ones before.
std::vector<TestRunResult> ProgTestRunBatch(bpf_program* prog, const std::vector<std::vector<uint8_t>>& packets,
                                            const TestRunOptions& opts);

}  // namespace kpr

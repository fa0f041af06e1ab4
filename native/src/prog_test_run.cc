#include "prog_test_run.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <functional>

#include "bpf_errors.h"
#include "netns_thread.h"

namespace kpr {

namespace {

// Room for what a program may add in front (tunnel headers) or at the end.
constexpr size_t kGrowth = 512;

// The test run happens in the namespace of the calling thread (netns_thread.h).
void RunIn(const std::string& netns_path, const std::function<int()>& fn, int* err, std::string* step) {
  const int entering = InNetns(
      netns_path,
      [&] {
        if (fn() != 0) {
          *err = errno;
          if (step->empty()) *step = "BPF_PROG_TEST_RUN";
        }
      },
      step);
  if (entering) {
    *err = entering;
    *step += " network namespace " + netns_path;
  }
}

}  // namespace

std::vector<TestRunResult> ProgTestRunBatch(bpf_program* prog, const std::vector<std::vector<uint8_t>>& packets,
                                            const TestRunOptions& opts) {
  const std::string prog_name = bpf_program__name(prog);
  if (opts.ingress_ifindex && bpf_program__type(prog) != BPF_PROG_TYPE_XDP)
    throw BpfError(prog_name + " is not an XDP program: it takes no ingress device");
  std::vector<TestRunResult> out(packets.size());
  int err = 0;
  std::string step;
  RunIn(opts.netns_path, [&] {
    for (size_t i = 0; i < packets.size(); i++) {
      const std::vector<uint8_t>& packet = packets[i];
      TestRunResult& r = out[i];
      r.packet.resize(packet.size() + kGrowth);
      xdp_md ctx{};
      ctx.data_end = packet.size();
      ctx.ingress_ifindex = opts.ingress_ifindex;
      LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = packet.data(), .data_out = r.packet.data(),
                  .data_size_in = static_cast<__u32>(packet.size()), .data_size_out = static_cast<__u32>(r.packet.size()),
                  .repeat = static_cast<int>(opts.repeat));
      if (opts.ingress_ifindex) {
        run.ctx_in = &ctx;
        run.ctx_size_in = sizeof(ctx);
      }
      if (int rc = bpf_prog_test_run_opts(bpf_program__fd(prog), &run); rc != 0) {
        step = "BPF_PROG_TEST_RUN (packet " + std::to_string(i) + ")";
        return rc;
      }
      r.retval = run.retval;
      r.packet.resize(run.data_size_out);
      r.duration_ns = run.duration;
    }
    return 0;
  }, &err, &step);
  if (err) ThrowErrno(step + " of " + prog_name, err);
  return out;
}

TestRunResult ProgTestRun(bpf_program* prog, const std::vector<uint8_t>& packet, const TestRunOptions& opts) {
  return std::move(ProgTestRunBatch(prog, {packet}, opts)[0]);
}

}  // namespace kpr

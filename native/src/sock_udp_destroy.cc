#include "sock_udp_destroy.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <unistd.h>

#include "bpf_errors.h"
#include "netns_thread.h"

namespace kpr {

UdpSockDestroyer::UdpSockDestroyer(bpf_object* obj, int destroy_map_fd) : destroy_map_fd_(destroy_map_fd) {
  bpf_program* prog = bpf_object__find_program_by_name(obj, "kpr_destroy_udp");
  if (!prog) throw BpfError("object has no program kpr_destroy_udp");
  iter_link_ = bpf_program__attach_iter(prog, nullptr);
  if (!iter_link_) ThrowErrno("attaching UDP socket iterator", errno);
}

UdpSockDestroyer::~UdpSockDestroyer() { bpf_link__destroy(iter_link_); }

// A socket iterator walks the namespace of the thread that creates it
// (netns_thread.h). The iterator writes one byte per socket it destroys,
// which is how they are counted.
size_t UdpSockDestroyer::DestroyInNetns(const std::string& netns_path) {
  size_t destroyed = 0;
  int error = 0;
  std::string step;
  const int entering = InNetns(
      netns_path,
      [&] {
        int it = bpf_iter_create(bpf_link__fd(iter_link_));
        if (it < 0) {
          error = errno;
          step = "iterating UDP sockets in";
          return;
        }
        char buf[4096];
        ssize_t n;
        while ((n = read(it, buf, sizeof(buf))) > 0) destroyed += n;
        if (n < 0) {
          error = errno;
          step = "reading UDP socket iterator in";
        }
        close(it);
      },
      &step);
  // A namespace gone meanwhile (its last process exited) has no sockets left.
  if (entering == ENOENT || entering == ESRCH) return 0;
  if (entering) error = entering;
  if (error) ThrowErrno(step + " network namespace " + netns_path, error);
  return destroyed;
}

size_t UdpSockDestroyer::Destroy(const std::vector<SockTarget>& targets,
                                 const std::vector<std::string>& netns_paths) {
  if (targets.empty()) return 0;
  // The targets are only meaningful during this call: never leave them for
  // a later run, whatever happens.
  struct ClearTargets {
    int fd;
    ~ClearTargets() {
      try {
        ClearDestroyTargets(fd);
      } catch (const BpfError&) {
      }
    }
  } clear{destroy_map_fd_};
  ReplaceDestroyTargets(destroy_map_fd_, targets);
  size_t total = 0;
  for (const auto& path : netns_paths) total += DestroyInNetns(path);
  return total;
}

}  // namespace kpr

// Destroys connected UDP sockets whose peer is a removed backend, by running
// the kpr_destroy_udp iterator in each network namespace that may hold one.
#pragma once
#include <string>
#include <vector>

#include "sock_maps.h"

struct bpf_object;
struct bpf_link;

namespace kpr {

class UdpSockDestroyer {
 public:
  UdpSockDestroyer(bpf_object* obj, int destroy_map_fd);
  ~UdpSockDestroyer();
  // Returns how many sockets were destroyed. A namespace that has gone away
  // in the meantime is skipped; any other failure throws.
  size_t Destroy(const std::vector<SockTarget>& targets, const std::vector<std::string>& netns_paths);

 private:
  size_t DestroyInNetns(const std::string& netns_path);

  bpf_link* iter_link_ = nullptr;
  int destroy_map_fd_;
};

}  // namespace kpr

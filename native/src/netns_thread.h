// Work in another network namespace. A thread's namespace decides what a
// socket it opens, a socket iterator it creates or a test run it starts
// sees; the JavaScript thread must never move, so a short-lived thread joins
// the namespace, does the work and ends.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace kpr {

// Runs work on a thread in the network namespace at path (empty: the
// caller's). Returns 0, or the errno of opening or entering it, with
// *step naming which; work's own failures are its own to report.
int InNetns(const std::string& path, const std::function<void()>& work, std::string* step);

// A network namespace as the socket LB's bypass needs it: its cookie (what
// bpf_get_netns_cookie() returns for its sockets) and the addresses its
// interfaces hold, by which a pod's is found.
struct NetnsInfo {
  uint64_t cookie;
  std::vector<std::string> addresses;
};

// Throws BpfError naming the path and what failed.
NetnsInfo ReadNetnsInfo(const std::string& path);

}  // namespace kpr

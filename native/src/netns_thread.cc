#include "netns_thread.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "bpf_errors.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71  // Linux 5.14
#endif

namespace kpr {

int InNetns(const std::string& path, const std::function<void()>& work, std::string* step) {
  int error = 0;
  std::thread worker([&] {
    if (!path.empty()) {
      int ns = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (ns < 0) {
        error = errno;
        *step = "opening";
        return;
      }
      if (setns(ns, CLONE_NEWNET) != 0) {
        error = errno;
        *step = "entering";
        close(ns);
        return;
      }
      close(ns);
    }
    work();
  });
  worker.join();
  return error;
}

NetnsInfo ReadNetnsInfo(const std::string& path) {
  NetnsInfo out{0, {}};
  std::string step, failed;
  int work_error = 0;
  const int error = InNetns(
      path,
      [&] {
        int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0) s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        socklen_t len = sizeof(out.cookie);
        if (s < 0 || getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &out.cookie, &len) != 0) {
          work_error = errno;
          failed = "reading the cookie of";
          if (s >= 0) close(s);
          return;
        }
        close(s);
        struct ifaddrs* ifs = nullptr;
        if (getifaddrs(&ifs) != 0) {
          work_error = errno;
          failed = "listing the addresses of";
          return;
        }
        for (struct ifaddrs* i = ifs; i; i = i->ifa_next) {
          if (!i->ifa_addr) continue;
          char text[INET6_ADDRSTRLEN];
          const int family = i->ifa_addr->sa_family;
          const void* raw = family == AF_INET    ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr)
                            : family == AF_INET6 ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr)
                                                 : nullptr;
          if (raw && inet_ntop(family, raw, text, sizeof(text))) out.addresses.emplace_back(text);
        }
        freeifaddrs(ifs);
      },
      &step);
  if (error) ThrowErrno(step + " network namespace " + path, error);
  if (work_error) ThrowErrno(failed + " network namespace " + path, work_error);
  return out;
}

}  // namespace kpr

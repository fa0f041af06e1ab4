// A file descriptor closed when it goes out of scope, also on a throw.
#pragma once
#include <unistd.h>

namespace kpr {

struct OwnedFd {
  int fd;
  explicit OwnedFd(int f) : fd(f) {}
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  ~OwnedFd() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace kpr

// Errors that carry the errno text and, while a load is being captured,
// libbpf's own log (which holds the verifier's output on a rejection).
#pragma once
#include <stdexcept>
#include <string>

namespace kpr {

// Thrown by the native core; the addon turns it into a JS Error.
class BpfError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Builds "what: <strerror(err)>" and throws it. err is a positive or negative errno.
[[noreturn]] void ThrowErrno(const std::string& what, int err);

// While alive, libbpf's messages are kept so that a failure can show them.
class LibbpfLogCapture {
 public:
  LibbpfLogCapture();
  ~LibbpfLogCapture();
  // The last max_lines lines of what libbpf printed during the capture.
  std::string Tail(size_t max_lines) const;
};

}  // namespace kpr

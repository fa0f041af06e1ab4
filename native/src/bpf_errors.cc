#include "bpf_errors.h"

#include <bpf/libbpf.h>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <vector>

namespace kpr {

namespace {
// libbpf's print callback is process-wide and the addon runs on the JS
// thread only, so one buffer suffices.
std::string captured;
bool capturing = false;
libbpf_print_fn_t previous_print = nullptr;

int PrintToCapture(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (!capturing || level == LIBBPF_DEBUG) return 0;
  // A verifier log comes as one message of any length, and its end is
  // what explains a rejection: measure it first, keep all of it.
  va_list measure;
  va_copy(measure, args);
  int n = vsnprintf(nullptr, 0, fmt, measure);
  va_end(measure);
  if (n <= 0) return n;
  std::vector<char> buf(static_cast<size_t>(n) + 1);
  vsnprintf(buf.data(), buf.size(), fmt, args);
  captured.append(buf.data(), static_cast<size_t>(n));
  return n;
}
}  // namespace

void ThrowErrno(const std::string& what, int err) {
  if (err < 0) err = -err;
  throw BpfError(what + ": " + strerror(err) + " (errno " + std::to_string(err) + ")");
}

LibbpfLogCapture::LibbpfLogCapture() {
  captured.clear();
  capturing = true;
  previous_print = libbpf_set_print(PrintToCapture);
}

LibbpfLogCapture::~LibbpfLogCapture() {
  capturing = false;
  libbpf_set_print(previous_print);
}

std::string LibbpfLogCapture::Tail(size_t max_lines) const {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < captured.size()) {
    size_t end = captured.find('\n', start);
    if (end == std::string::npos) end = captured.size();
    lines.push_back(captured.substr(start, end - start));
    start = end + 1;
  }
  std::string tail;
  size_t first = lines.size() > max_lines ? lines.size() - max_lines : 0;
  for (size_t i = first; i < lines.size(); i++) tail += lines[i] + "\n";
  return tail;
}

}  // namespace kpr

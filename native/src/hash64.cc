#include "hash64.h"

namespace kpr {
namespace {

// MurmurHash3 x64's published finalizer constants.
constexpr uint64_t kFmix1 = 0xff51afd7ed558ccdULL;
constexpr uint64_t kFmix2 = 0xc4ceb9fe1a85ec53ULL;

// Up to 8 bytes from p as a little-endian word, zero-padded.
uint64_t LoadLe(const char* p, size_t n) {
  uint64_t w = 0;
  for (size_t i = 0; i < n; i++) w |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return w;
}

}  // namespace

Hash64& Hash64::Bytes(std::string_view s) {
  Word(s.size());
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) Word(LoadLe(s.data() + i, 8));
  if (i < s.size()) Word(LoadLe(s.data() + i, s.size() - i));
  return *this;
}

uint64_t Hash64::Final() const {
  uint64_t h = h_ ^ words_;
  h ^= h >> 33;
  h *= kFmix1;
  h ^= h >> 33;
  h *= kFmix2;
  h ^= h >> 33;
  return h;
}

}  // namespace kpr

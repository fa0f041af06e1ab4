// A seeded 64-bit hash that every node computes alike, for Maglev's backend
// permutations and table digests. It follows the published structure of
// MurmurHash3's x64 variant: each 64-bit word is multiplied, rotated and
// multiplied into the state, and the fmix64 finalizer spreads every input bit
// over the result. Byte strings are read as little-endian words whatever the
// host's byte order, so a digest means the same on x86 and arm64.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace kpr {

class Hash64 {
 public:
  explicit Hash64(uint64_t seed) : h_(seed) {}

  // Inline: a digest feeds it a whole table, word by word.
  Hash64& Word(uint64_t w) {
    h_ ^= Rotl(w * kMul1, 31) * kMul2;
    h_ = Rotl(h_, 27) * 5 + 0x52dce729;
    words_++;
    return *this;
  }
  // Length first, so that ("ab", "c") and ("a", "bc") hash apart.
  Hash64& Bytes(std::string_view s);
  uint64_t Final() const;

 private:
  // MurmurHash3 x64's published multipliers.
  static constexpr uint64_t kMul1 = 0x87c37b91114253d5ULL;
  static constexpr uint64_t kMul2 = 0x4cf5ad432745937fULL;

  static uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

  uint64_t h_;
  uint64_t words_ = 0;
};

}  // namespace kpr

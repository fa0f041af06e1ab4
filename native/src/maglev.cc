#include "maglev.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

#include "hash64.h"

namespace kpr {
namespace {

// h2 is h1 under another seed: the user's 32-bit seed with this upper half.
constexpr uint64_t kSkipSeed = 0x736b697000000000ULL;

bool IsPrime(uint32_t n) {
  if (n < 2) return false;
  for (uint32_t d = 2; d * d <= n; d++)
    if (n % d == 0) return false;
  return true;
}

void CheckPermutations(const std::vector<MaglevPermutation>& perms, uint32_t size) {
  if (!IsPrime(size) || size > kMaglevMaxSize)
    throw MaglevError("maglev table size " + std::to_string(size) + " is not a prime up to " +
                      std::to_string(kMaglevMaxSize));
  if (perms.empty()) throw MaglevError("maglev needs at least one backend");
  for (const auto& p : perms)
    if (p.offset >= size || p.skip == 0 || p.skip >= size)
      throw MaglevError("maglev permutation (offset " + std::to_string(p.offset) + ", skip " +
                        std::to_string(p.skip) + ") needs offset < M and 0 < skip < M, M = " +
                        std::to_string(size));
}

std::string Hex(uint64_t v) {
  char buf[17];
  snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

std::string MaglevDigest(const std::vector<std::string_view>& sorted_names, const std::vector<uint32_t>& slots, uint32_t seed) {
  Hash64 h(seed);
  h.Word(slots.size()).Word(sorted_names.size());
  for (const auto& name : sorted_names) h.Bytes(name);
  // Slots in pairs, as numbers rather than bytes, so the host's byte order does not matter.
  size_t i = 0;
  for (; i + 1 < slots.size(); i += 2) h.Word(slots[i] | static_cast<uint64_t>(slots[i + 1]) << 32);
  if (i < slots.size()) h.Word(slots[i]);
  return Hex(h.Final());
}

// Permutations are walked lazily: each backend keeps only its next choice,
// not a row of M, and a bitmap of taken slots (M / 8 bytes, in L1 cache)
// answers the "already taken?" probes that dominate the run time. Probes go
// two choices at a time, which halves the chain of dependent additions.
std::vector<uint32_t> PopulateMaglev(const std::vector<MaglevPermutation>& perms, uint32_t size) {
  CheckPermutations(perms, size);
  const auto add = [size](uint32_t a, uint32_t b) { return a + b >= size ? a + b - size : a + b; };
  struct Cursor {
    uint32_t next, skip, skip2;
  };
  std::vector<Cursor> cursors;
  cursors.reserve(perms.size());
  for (const auto& p : perms) cursors.push_back({p.offset, p.skip, add(p.skip, p.skip)});
  std::vector<uint64_t> taken_bits((size + 63) / 64);
  // Plain locals: through the vector and the cursor, the compiler would
  // reload the data pointer and the skips on every probe.
  uint64_t* const taken = taken_bits.data();
  const auto is_taken = [taken](uint32_t c) { return taken[c / 64] >> (c % 64) & 1; };
  std::vector<uint32_t> slots(size);
  uint32_t filled = 0;
  for (;;) {
    for (uint32_t i = 0; i < cursors.size(); i++) {
      const uint32_t skip = cursors[i].skip, skip2 = cursors[i].skip2;
      uint32_t c = cursors[i].next;
      for (;;) {
        const uint32_t c1 = add(c, skip);
        if (!is_taken(c)) break;
        if (!is_taken(c1)) {
          c = c1;
          break;
        }
        c = add(c, skip2);
      }
      taken[c / 64] |= uint64_t{1} << (c % 64);
      slots[c] = i;
      cursors[i].next = add(c, skip);
      if (++filled == size) return slots;
    }
  }
}

MaglevTable ComputeMaglev(const std::vector<std::string>& names, uint32_t size, uint32_t seed) {
  if (size < kMaglevMinSize || size > kMaglevMaxSize || !IsPrime(size))
    throw MaglevError("maglev table size " + std::to_string(size) + " is not a prime from " +
                      std::to_string(kMaglevMinSize) + " to " + std::to_string(kMaglevMaxSize) +
                      " (such as 16381, 65521, 65537 or 131071)");
  if (names.empty()) throw MaglevError("maglev needs at least one backend");
  MaglevTable t;
  t.backends.resize(names.size());
  std::iota(t.backends.begin(), t.backends.end(), 0);
  std::stable_sort(t.backends.begin(), t.backends.end(), [&names](uint32_t a, uint32_t b) { return names[a] < names[b]; });
  auto same = [&names](uint32_t a, uint32_t b) { return names[a] == names[b]; };
  t.backends.erase(std::unique(t.backends.begin(), t.backends.end(), same), t.backends.end());

  std::vector<MaglevPermutation> perms;
  perms.reserve(t.backends.size());
  for (uint32_t b : t.backends) {
    uint64_t h1 = Hash64(seed).Bytes(names[b]).Final();
    uint64_t h2 = Hash64(kSkipSeed | seed).Bytes(names[b]).Final();
    perms.push_back({static_cast<uint32_t>(h1 % size), static_cast<uint32_t>(h2 % (size - 1) + 1)});
  }
  t.slots = PopulateMaglev(perms, size);
  std::vector<std::string_view> sorted;
  sorted.reserve(t.backends.size());
  for (uint32_t b : t.backends) sorted.push_back(names[b]);
  t.digest = MaglevDigest(sorted, t.slots, seed);
  return t;
}

}  // namespace kpr

// A digest of a map's entries that the agent computes alike from the state
// it last wrote (lib/datapath/socket/map_digest.ts), so that a full sync can
// tell whether the maps still hold that state without handing the state to
// the addon (at 100k services, 2M objects converted per full sync) or
// copying the map out. Each entry is hashed on its own (MurmurHash3's 32-bit
// body, two lanes with different seeds) over its fields as the agent knows
// them, addresses as canonical text; the map's digest is the entry count and
// each lane's sum over entries, so the order a walk meets them in does not
// matter. Both sides must feed the same words in the same order.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace kpr {

class EntryHash {
 public:
  // Inline: a full sync feeds a million entries through it.
  EntryHash& Word(uint32_t w) {
    a_ = Mix(a_, w);
    b_ = Mix(b_, w);
    return *this;
  }
  // Length first, so that ("ab", "c") and ("a", "bc") hash apart.
  EntryHash& Text(const char* s, size_t n) {
    Word(static_cast<uint32_t>(n));
    for (size_t i = 0; i < n; i++) Word(static_cast<unsigned char>(s[i]));
    return *this;
  }
  uint32_t A() const { return Final(a_); }
  uint32_t B() const { return Final(b_); }

 private:
  static uint32_t Rotl(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }
  static uint32_t Mix(uint32_t h, uint32_t w) {
    h ^= Rotl(w * 0xcc9e2d51u, 15) * 0x1b873593u;
    return Rotl(h, 13) * 5 + 0xe6546b64u;
  }
  static uint32_t Final(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    return h ^ (h >> 16);
  }

  uint32_t a_ = 0x6b707231u;
  uint32_t b_ = 0x9747b28cu;
};

class MapDigest {
 public:
  void Add(const EntryHash& h) {
    entries_++;
    a_ += h.A();
    b_ += h.B();
  }
  // An entry the agent could not have written (bytes its packing never
  // produces): no state of the agent's matches the map.
  void Foreign() { foreign_ = true; }
  // "entries:lane a:lane b" in hex, as map_digest.ts writes it; "foreign" for a map no state matches.
  std::string Text() const {
    if (foreign_) return "foreign";
    char buf[40];
    snprintf(buf, sizeof(buf), "%zx:%x:%x", entries_, a_, b_);
    return buf;
  }

 private:
  size_t entries_ = 0;
  uint32_t a_ = 0, b_ = 0;
  bool foreign_ = false;
};

}  // namespace kpr

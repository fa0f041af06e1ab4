// Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable
// Software Network Load Balancer", NSDI 2016, section 3.4): a lookup table of
// M slots, each naming a backend, that every node builds alike from the same
// backend set and that moves few slots when one backend comes or goes.
// Plain C++ without Node or libbpf, so that the map writer can use it too.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kpr {

// A bad argument; the message names it and what is allowed.
class MaglevError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Table sizes M are primes in this range: Cilium's smallest and largest
// (--bpf-lb-maglev-table-size), and every prime between, 65537 included.
constexpr uint32_t kMaglevMinSize = 251;
constexpr uint32_t kMaglevMaxSize = 131071;

// A backend's order of preference over the slots: its j-th choice is
// (offset + j * skip) mod M, which visits every slot once when M is prime.
struct MaglevPermutation {
  uint32_t offset;
  uint32_t skip;
};

struct MaglevTable {
  // The backends as indexes into the caller's names, in bytewise order of
  // the names, one per distinct name (its first): callers map them to their
  // own records (backend ids, JS strings) without looking names up.
  std::vector<uint32_t> backends;
  // M slots, each an index into backends.
  std::vector<uint32_t> slots;
  // 16 hex digits over M, seed, backend names and slots: equal digests, equal tables.
  std::string digest;
};

// The table of a set of backend names ("addr:port"). Names are sorted and
// de-duplicated first, so the input order never matters; seed changes both
// hashes of every name, and so the whole table. With more backends than
// slots, the last in name order get none.
MaglevTable ComputeMaglev(const std::vector<std::string>& names, uint32_t size, uint32_t seed);

// The digest of a table given as names (sorted, distinct) and slots (indexes
// into them), as ComputeMaglev makes it: a programmed table read back from
// the maps gets the same digest as the one computed from its backends.
std::string MaglevDigest(const std::vector<std::string_view>& sorted_names, const std::vector<uint32_t>& slots, uint32_t seed);

// Pseudocode 1 of the paper over given permutations, one per backend; size
// may be any prime up to kMaglevMaxSize, so that the paper's example (M = 7)
// can be checked as printed.
std::vector<uint32_t> PopulateMaglev(const std::vector<MaglevPermutation>& perms, uint32_t size);

}  // namespace kpr

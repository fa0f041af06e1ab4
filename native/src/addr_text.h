// Addresses, protocols and frontends between the text the agent speaks and
// the form every map holds them in (16 bytes and a KPR_AF_* family; an IP
// protocol number), for both load balancers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

extern "C" {
#include "kpr_consts.h"
}

namespace kpr {

struct Frontend {
  std::string addr;
  uint16_t port;
  uint8_t proto;
};

// Throws BpfError naming the bad text.
void ParseAddr(const std::string& text, uint8_t out[16], uint8_t* family);
// "addr/len": the address into out and family; returns len.
unsigned ParseCidr(const std::string& text, uint8_t out[16], uint8_t* family);
// Room for the longest text FormatAddrTo writes, and its NUL.
constexpr size_t kAddrTextMax = 40;
// The canonical text, as the agent spells addresses (lib/model/ip_address.ts:
// RFC 5952, and no dotted IPv4 tail in an IPv6 address); writes it and a NUL
// into out, returns its length.
size_t FormatAddrTo(const uint8_t addr[16], uint8_t family, char out[kAddrTextMax]);
std::string FormatAddr(const uint8_t addr[16], uint8_t family);
uint8_t ProtoFromName(const std::string& name);
std::string ProtoName(uint8_t proto);

}  // namespace kpr

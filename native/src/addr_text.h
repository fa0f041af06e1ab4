// Addresses, protocols and frontends between the text the agent speaks and
// the form every map holds them in (16 bytes and a KPR_AF_* family; an IP
// protocol number), for both load balancers.
#pragma once
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
std::string FormatAddr(const uint8_t addr[16], uint8_t family);
uint8_t ProtoFromName(const std::string& name);
std::string ProtoName(uint8_t proto);

}  // namespace kpr

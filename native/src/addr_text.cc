#include "addr_text.h"

#include <arpa/inet.h>

#include <cstdlib>
#include <cstring>

#include "bpf_errors.h"

namespace kpr {

void ParseAddr(const std::string& text, uint8_t out[16], uint8_t* family) {
  memset(out, 0, 16);
  if (inet_pton(AF_INET, text.c_str(), out) == 1) {
    *family = KPR_AF_INET;
  } else if (inet_pton(AF_INET6, text.c_str(), out) == 1) {
    *family = KPR_AF_INET6;
  } else {
    throw BpfError("not an IP address: '" + text + "'");
  }
}

unsigned ParseCidr(const std::string& text, uint8_t out[16], uint8_t* family) {
  size_t slash = text.find('/');
  if (slash == std::string::npos) throw BpfError("not a CIDR: '" + text + "'");
  ParseAddr(text.substr(0, slash), out, family);
  const std::string len_text = text.substr(slash + 1);
  char* end = nullptr;
  unsigned long len = strtoul(len_text.c_str(), &end, 10);
  if (len_text.empty() || *end || len > (*family == KPR_AF_INET ? 32u : 128u)) throw BpfError("bad prefix length in '" + text + "'");
  return static_cast<unsigned>(len);
}

std::string FormatAddr(const uint8_t addr[16], uint8_t family) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family == KPR_AF_INET ? AF_INET : AF_INET6, addr, buf, sizeof(buf));
  return buf;
}

uint8_t ProtoFromName(const std::string& name) {
  if (name == "TCP") return KPR_PROTO_TCP;
  if (name == "UDP") return KPR_PROTO_UDP;
  if (name == "SCTP") return KPR_PROTO_SCTP;
  throw BpfError("unknown protocol '" + name + "' (TCP, UDP or SCTP)");
}

std::string ProtoName(uint8_t proto) {
  switch (proto) {
    case KPR_PROTO_TCP: return "TCP";
    case KPR_PROTO_UDP: return "UDP";
    case KPR_PROTO_SCTP: return "SCTP";
    default: return std::to_string(proto);
  }
}

}  // namespace kpr

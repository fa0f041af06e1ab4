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

// Digits by hand: a full sync formats a million addresses (map_digest.h).
static size_t PutDecimal(char* out, unsigned v) {
  char tmp[3];
  size_t n = 0;
  do tmp[n++] = static_cast<char>('0' + v % 10);
  while ((v /= 10) > 0);
  for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
  return n;
}

static size_t PutHex(char* out, unsigned v) {
  static const char kDigits[] = "0123456789abcdef";
  size_t n = 0;
  for (int shift = 12; shift >= 0; shift -= 4)
    if (v >> shift || shift == 0 || n > 0) out[n++] = kDigits[(v >> shift) & 0xf];
  return n;
}

size_t FormatAddrTo(const uint8_t addr[16], uint8_t family, char out[kAddrTextMax]) {
  size_t n = 0;
  if (family == KPR_AF_INET) {
    for (int i = 0; i < 4; i++) {
      if (i > 0) out[n++] = '.';
      n += PutDecimal(out + n, addr[i]);
    }
    out[n] = '\0';
    return n;
  }
  unsigned g[8];
  for (int i = 0; i < 8; i++) g[i] = static_cast<unsigned>(addr[2 * i] << 8 | addr[2 * i + 1]);
  // The first longest run of two or more zero groups becomes "::".
  int best = -1, best_len = 1;
  for (int i = 0; i < 8; i++) {
    if (g[i] != 0) continue;
    int j = i;
    while (j < 8 && g[j] == 0) j++;
    if (j - i > best_len) best = i, best_len = j - i;
    i = j;
  }
  for (int i = 0; i < 8; i++) {
    if (i == best) {
      out[n++] = ':';
      out[n++] = ':';
      i += best_len - 1;
      continue;
    }
    if (i > 0 && i != best + best_len) out[n++] = ':';
    n += PutHex(out + n, g[i]);
  }
  out[n] = '\0';
  return n;
}

std::string FormatAddr(const uint8_t addr[16], uint8_t family) {
  char buf[kAddrTextMax];
  return std::string(buf, FormatAddrTo(addr, family, buf));
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

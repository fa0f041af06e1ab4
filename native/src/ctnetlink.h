// The node's conntrack table written over ctnetlink (NETLINK_NETFILTER), in
// the network namespace of the calling thread: entries made with their
// translation, and entries deleted. What an entry holds is decided by its
// caller (conntrack_handover.h); this knows the wire format only.
#pragma once
#include <cstdint>
#include <optional>

namespace kpr {

// One direction of a connection as conntrack keys it. Addresses are 16
// bytes, an IPv4 one in the first 4; ports in host order.
struct CtTuple {
  uint8_t src[16];
  uint8_t dst[16];
  uint16_t sport;
  uint16_t dport;
};

// conntrack's TCP states that a flow handed over can be in.
enum class CtTcpState { kEstablished, kCloseWait };

struct CtNat {
  uint8_t addr[16];
  uint16_t port;
};

// A connection as the node's conntrack would hold it had it translated the
// connection itself: the client's tuple, and where its destination and
// source are translated to; the reply tuple follows (dnat -> snat).
struct CtEntry {
  bool ipv6;
  uint8_t proto;  // IPPROTO_TCP or IPPROTO_UDP
  CtTuple orig;   // as the client sends
  CtNat dnat;     // where orig's destination is translated to
  // And its source: its own address and port where it is not translated.
  // Given, never left to the kernel: an entry without a source translation
  // gets one that keeps the reply tuple unique, i.e. a new client port when
  // some other entry holds the reply tuple, where this one must clash.
  CtNat snat;
  std::optional<CtTcpState> tcp_state;
  bool seen_reply;
  bool assured;
  uint32_t timeout_s;
};

class CtNetlink {
 public:
  CtNetlink();  // throws BpfError when the socket cannot be had
  ~CtNetlink();
  CtNetlink(const CtNetlink&) = delete;
  CtNetlink& operator=(const CtNetlink&) = delete;

  // 0 or the kernel's errno (EEXIST: a tuple of e is already some entry's).
  int Create(const CtEntry& e);
  // Deletes the entry that holds the reply tuple e is to have: 0 or the
  // errno (ENOENT: none).
  int DeleteClashing(const CtEntry& e);

 private:
  int Request(void* msg, uint32_t len);

  int fd_;
  uint32_t seq_ = 0;
};

}  // namespace kpr

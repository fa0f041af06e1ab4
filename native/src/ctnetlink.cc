#include "ctnetlink.h"

#include <arpa/inet.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "bpf_errors.h"

namespace kpr {

namespace {

// A netlink message being built: the header, nfnetlink's, then attributes,
// nested ones closed in the order they were opened.
class Message {
 public:
  Message(uint16_t type, uint16_t flags, bool ipv6) {
    buf_.resize(NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg)));
    auto* nh = reinterpret_cast<nlmsghdr*>(buf_.data());
    nh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
    nh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    auto* nf = reinterpret_cast<nfgenmsg*>(buf_.data() + NLMSG_HDRLEN);
    nf->nfgen_family = ipv6 ? AF_INET6 : AF_INET;
    nf->version = NFNETLINK_V0;
  }

  void Put(uint16_t type, const void* data, size_t len) {
    size_t at = buf_.size();
    buf_.resize(at + NLA_ALIGN(NLA_HDRLEN + len));
    auto* a = reinterpret_cast<nlattr*>(buf_.data() + at);
    a->nla_type = type;
    a->nla_len = NLA_HDRLEN + len;
    if (len > 0) memcpy(buf_.data() + at + NLA_HDRLEN, data, len);
  }
  void PutU8(uint16_t type, uint8_t v) { Put(type, &v, sizeof(v)); }
  void PutBe16(uint16_t type, uint16_t v) {
    uint16_t be = htons(v);
    Put(type, &be, sizeof(be));
  }
  void PutBe32(uint16_t type, uint32_t v) {
    uint32_t be = htonl(v);
    Put(type, &be, sizeof(be));
  }
  size_t Open(uint16_t type) {
    size_t at = buf_.size();
    Put(type | NLA_F_NESTED, nullptr, 0);
    return at;
  }
  void Close(size_t at) { reinterpret_cast<nlattr*>(buf_.data() + at)->nla_len = buf_.size() - at; }

  void* Finish(uint32_t seq, uint32_t* len) {
    auto* nh = reinterpret_cast<nlmsghdr*>(buf_.data());
    nh->nlmsg_len = buf_.size();
    nh->nlmsg_seq = seq;
    *len = buf_.size();
    return buf_.data();
  }

 private:
  std::vector<char> buf_;
};

void PutAddr(Message& m, uint16_t v4, uint16_t v6, bool ipv6, const uint8_t addr[16]) {
  m.Put(ipv6 ? v6 : v4, addr, ipv6 ? 16 : 4);
}

void PutTuple(Message& m, uint16_t which, bool ipv6, uint8_t proto, const CtTuple& t) {
  size_t tuple = m.Open(which);
  size_t ip = m.Open(CTA_TUPLE_IP);
  PutAddr(m, CTA_IP_V4_SRC, CTA_IP_V6_SRC, ipv6, t.src);
  PutAddr(m, CTA_IP_V4_DST, CTA_IP_V6_DST, ipv6, t.dst);
  m.Close(ip);
  size_t l4 = m.Open(CTA_TUPLE_PROTO);
  m.PutU8(CTA_PROTO_NUM, proto);
  m.PutBe16(CTA_PROTO_SRC_PORT, t.sport);
  m.PutBe16(CTA_PROTO_DST_PORT, t.dport);
  m.Close(l4);
  m.Close(tuple);
}

// A translation to exactly one address and port.
void PutNat(Message& m, uint16_t which, bool ipv6, const CtNat& to) {
  size_t nat = m.Open(which);
  PutAddr(m, CTA_NAT_V4_MINIP, CTA_NAT_V6_MINIP, ipv6, to.addr);
  PutAddr(m, CTA_NAT_V4_MAXIP, CTA_NAT_V6_MAXIP, ipv6, to.addr);
  size_t ports = m.Open(CTA_NAT_PROTO);
  m.PutBe16(CTA_PROTONAT_PORT_MIN, to.port);
  m.PutBe16(CTA_PROTONAT_PORT_MAX, to.port);
  m.Close(ports);
  m.Close(nat);
}

uint8_t TcpStateValue(CtTcpState s) {
  switch (s) {
    case CtTcpState::kEstablished:
      return TCP_CONNTRACK_ESTABLISHED;
    case CtTcpState::kCloseWait:
      return TCP_CONNTRACK_CLOSE_WAIT;
  }
  return TCP_CONNTRACK_ESTABLISHED;
}

// The TCP state, and no window checks either way: conntrack never saw the
// handshake that tells it the windows and their scale, and would otherwise
// take the flow's next segments for out of window (INVALID, which
// kube-proxy's rules drop).
void PutTcp(Message& m, CtTcpState state) {
  size_t info = m.Open(CTA_PROTOINFO);
  size_t tcp = m.Open(CTA_PROTOINFO_TCP);
  m.PutU8(CTA_PROTOINFO_TCP_STATE, TcpStateValue(state));
  nf_ct_tcp_flags liberal{IP_CT_TCP_FLAG_BE_LIBERAL, IP_CT_TCP_FLAG_BE_LIBERAL};
  m.Put(CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, &liberal, sizeof(liberal));
  m.Put(CTA_PROTOINFO_TCP_FLAGS_REPLY, &liberal, sizeof(liberal));
  m.Close(tcp);
  m.Close(info);
}

// The tuple of a packet going the other way.
CtTuple Inverse(const CtTuple& t) {
  CtTuple r{};
  memcpy(r.src, t.dst, sizeof(r.src));
  memcpy(r.dst, t.src, sizeof(r.dst));
  r.sport = t.dport;
  r.dport = t.sport;
  return r;
}

}  // namespace

CtNetlink::CtNetlink() {
  fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd_ < 0) ThrowErrno("opening a ctnetlink socket", errno);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
    int err = errno;
    close(fd_);
    ThrowErrno("binding a ctnetlink socket", err);
  }
  // Every request asks for an acknowledgement; one that never comes must
  // not hang `kpr cleanup`.
  timeval wait{5, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
}

CtNetlink::~CtNetlink() { close(fd_); }

// Sends one request and reads its acknowledgement: 0 or the errno it carries.
int CtNetlink::Request(void* msg, uint32_t len) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd_, msg, len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0) return errno;
  const uint32_t seq = reinterpret_cast<nlmsghdr*>(msg)->nlmsg_seq;
  char buf[8192];
  for (;;) {
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    for (auto* nh = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n)) {
      if (nh->nlmsg_seq != seq || nh->nlmsg_type != NLMSG_ERROR) continue;
      return -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(nh))->error;
    }
  }
}

int CtNetlink::Create(const CtEntry& e) {
  Message m(IPCTNL_MSG_CT_NEW, NLM_F_CREATE | NLM_F_EXCL, e.ipv6);
  PutTuple(m, CTA_TUPLE_ORIG, e.ipv6, e.proto, e.orig);
  // The reply as if nothing were translated: the kernel derives the real one
  // from the translations, and marks the entry translated (IPS_DST_NAT,
  // IPS_SRC_NAT) only where that changed it. Given the translated reply, it
  // would see nothing to change, and never translate a packet.
  PutTuple(m, CTA_TUPLE_REPLY, e.ipv6, e.proto, Inverse(e.orig));
  PutNat(m, CTA_NAT_DST, e.ipv6, e.dnat);
  PutNat(m, CTA_NAT_SRC, e.ipv6, e.snat);
  m.PutBe32(CTA_TIMEOUT, e.timeout_s);
  // The kernel marks a created entry confirmed before it applies the status
  // asked for, and refuses a status that would clear that bit (EBUSY).
  m.PutBe32(CTA_STATUS, IPS_CONFIRMED | (e.seen_reply ? IPS_SEEN_REPLY : 0) | (e.assured ? IPS_ASSURED : 0));
  if (e.tcp_state) PutTcp(m, *e.tcp_state);
  uint32_t len;
  void* msg = m.Finish(++seq_, &len);
  return Request(msg, len);
}

int CtNetlink::DeleteClashing(const CtEntry& e) {
  CtTuple reply{};
  memcpy(reply.src, e.dnat.addr, sizeof(reply.src));
  memcpy(reply.dst, e.snat.addr, sizeof(reply.dst));
  reply.sport = e.dnat.port;
  reply.dport = e.snat.port;
  Message m(IPCTNL_MSG_CT_DELETE, 0, e.ipv6);
  PutTuple(m, CTA_TUPLE_REPLY, e.ipv6, e.proto, reply);
  uint32_t len;
  void* msg = m.Finish(++seq_, &len);
  return Request(msg, len);
}

}  // namespace kpr

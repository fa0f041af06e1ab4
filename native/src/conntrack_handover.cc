#include "conntrack_handover.h"

#include <bpf/bpf.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

#include "addr_text.h"
#include "bpf_errors.h"
#include "ctnetlink.h"
#include "loader.h"
#include "map_batch.h"
#include "owned_fd.h"

extern "C" {
#include "kpr_flow_lifetime.h"
#include "kpr_edge_types.h"
}

namespace kpr {

namespace {

// Failures named in the report; the rest are counted.
constexpr size_t kErrorsShown = 5;
// Tries to replace what holds a flow's reply tuple: the flow's own packets,
// still handed to the stack by kpr's program meanwhile, can make an
// untranslated entry again between the delete and the create.
constexpr int kReplaceTries = 3;

// conntrack's TCP state for kpr's view of a flow (kpr_flow_lifetime.h):
// ESTABLISHED even for a flow whose handshake kpr saw only in part. Its
// packets reach conntrack from now on, but its replies may still be carried
// by kpr's program until it is detached, unseen: in SYN_SENT, conntrack
// would take the client's ACK of a SYN-ACK it never saw for invalid, which
// kube-proxy's rules drop. A FIN one way is taken as acknowledged
// (CLOSE_WAIT), which the next packets of either side move on from as they
// would from FIN_WAIT. The timeout stays kpr's for the flow's own state.
CtTcpState TcpState(__u8 state) {
  return state & (KPR_CT_FIN_CLIENT | KPR_CT_FIN_BACKEND) ? CtTcpState::kCloseWait : CtTcpState::kEstablished;
}

// What every entry shares: protocol, state and timeout. The timeout is kpr's
// own for the state (the node's conntrack sets its own at the next packet).
CtEntry Base(__u8 family, __u8 proto, __u8 state, const edge_timeouts& t) {
  CtEntry e{};
  e.ipv6 = family != KPR_AF_INET;
  e.proto = proto;
  if (proto == IPPROTO_TCP) e.tcp_state = TcpState(state);
  e.seen_reply = state & KPR_CT_REPLIED;
  e.assured = proto == IPPROTO_TCP ? (state & KPR_CT_ESTABLISHED) && (state & KPR_CT_REPLIED) : (state & KPR_CT_STREAM);
  e.timeout_s = ct_timeout_s(&t, proto, state);
  return e;
}

// Ports as the maps hold them, in network order.
void SetTuple(CtTuple& t, const __u8* src, __u16 sport, const __u8* dst, __u16 dport) {
  memcpy(t.src, src, 16);
  memcpy(t.dst, dst, 16);
  t.sport = ntohs(sport);
  t.dport = ntohs(dport);
}

CtNat Nat(const __u8* addr, __u16 port) {
  CtNat n{};
  memcpy(n.addr, addr, 16);
  n.port = ntohs(port);
  return n;
}

// A snat flow's client port (network order): an entry of a build that kept
// the client's port as the snat port has client_port 0.
__u16 SnatClientPort(const edge_snat_key& k, const edge_snat_val& v) { return v.client_port ? v.client_port : k.snat_port; }

// A snat flow: client -> frontend, leaving as node:snat_port -> backend.
CtEntry SnatEntry(const edge_snat_key& k, const edge_snat_val& v, const edge_timeouts& t) {
  CtEntry e = Base(k.family, k.proto, v.state, t);
  SetTuple(e.orig, v.client_addr, SnatClientPort(k, v), v.frontend_addr, v.frontend_port);
  e.dnat = Nat(k.backend_addr, k.backend_port);
  e.snat = Nat(k.node_addr, k.snat_port);
  return e;
}

// A flow to a backend on this node: client -> frontend, reaching the backend
// with the client's own address.
CtEntry LocalEntry(const edge_revnat_key& k, const edge_revnat_val& v, const edge_timeouts& t) {
  CtEntry e = Base(k.family, k.proto, v.state, t);
  SetTuple(e.orig, k.client_addr, k.client_port, v.frontend_addr, v.frontend_port);
  e.dnat = Nat(k.backend_addr, k.backend_port);
  e.snat = Nat(k.client_addr, k.client_port);
  return e;
}

std::string Describe(const CtEntry& e) {
  const uint8_t family = e.ipv6 ? KPR_AF_INET6 : KPR_AF_INET;
  auto end = [&](const uint8_t* a, uint16_t p) { return FormatAddr(a, family) + " port " + std::to_string(p); };
  return ProtoName(e.proto) + " " + end(e.orig.src, e.orig.sport) + " -> " + end(e.orig.dst, e.orig.dport) + " (backend " +
         end(e.dnat.addr, e.dnat.port) + ")";
}

// kpr's program stops carrying a flow once its flow entry is gone: on a
// miss it finds the flow translated in conntrack and leaves its packets to
// the stack (kpr_node_conntrack.h). So each flow is let go right after its
// conntrack entry is made, not when the program is detached: meanwhile a
// packet of a flow to a backend here, which the program would still hand to
// the stack addressed to the backend, would meet the translated entry's
// reply tuple, and conntrack would give it another source port (which the
// backend answers with a reset).
class FlowTable {
 public:
  explicit FlowTable(const std::string& map_dir)
      : flows4_(OpenPinnedMapIfAny(map_dir + "/kpr_edge_flows4")),
        flows6_(OpenPinnedMapIfAny(map_dir + "/kpr_edge_flows6")),
        frontends_(OpenPinnedMapIfAny(map_dir + "/kpr_edge_frontends")) {}

  // The service of a frontend, 0 when there is none.
  __u32 ServiceOf(const __u8* addr, __u16 port, __u8 proto, __u8 family) const {
    edge_fe_key k{};
    memcpy(k.addr, addr, sizeof(k.addr));
    k.port = port;
    k.proto = proto;
    k.family = family;
    edge_fe_val v{};
    return frontends_.fd >= 0 && bpf_map_lookup_elem(frontends_.fd, &k, &v) == 0 ? v.svc_id : 0;
  }

  // Ports in network order, as the maps hold them.
  void Forget(const __u8* client, __u16 client_port, __u8 proto, __u8 family, __u32 svc_id) const {
    if (family == KPR_AF_INET)
      ForgetIn<edge_flow_key4>(flows4_, client, client_port, proto, svc_id);
    else
      ForgetIn<edge_flow_key6>(flows6_, client, client_port, proto, svc_id);
  }

 private:
  template <typename K>
  static void ForgetIn(const OwnedFd& flows, const __u8* client, __u16 client_port, __u8 proto, __u32 svc_id) {
    K k{};
    memcpy(k.saddr, client, sizeof(k.saddr));
    k.svc_id = svc_id;
    k.sport = client_port;
    k.proto = proto;
    if (flows.fd >= 0) bpf_map_delete_elem(flows.fd, &k);
  }

  OwnedFd flows4_;
  OwnedFd flows6_;
  OwnedFd frontends_;
};

class Writer {
 public:
  explicit Writer(HandoverReport& report) : report_(report) {}

  // Whether the entry is in conntrack now.
  bool Write(const CtEntry& e) {
    int err = nl_.Create(e);
    for (int tries = 0; err == EEXIST && tries < kReplaceTries; tries++) {
      int del = nl_.DeleteClashing(e);
      if (del != 0 && del != ENOENT) {
        err = del;
        break;
      }
      if (del == 0 && tries == 0) report_.replaced++;
      err = nl_.Create(e);
    }
    if (err == 0) return true;
    report_.failed++;
    if (report_.errors.size() < kErrorsShown) report_.errors.push_back(Describe(e) + ": " + strerror(err));
    return false;
  }

 private:
  CtNetlink nl_;
  HandoverReport& report_;
};

}  // namespace

HandoverReport HandOverEdgeFlows(const std::string& map_dir) {
  HandoverReport report;
  OwnedFd config(OpenPinnedMapIfAny(map_dir + "/kpr_xdp_config"));
  OwnedFd snat(OpenPinnedMapIfAny(map_dir + "/kpr_edge_snat"));
  OwnedFd revnat(OpenPinnedMapIfAny(map_dir + "/kpr_edge_revnat"));
  if (config.fd < 0 || (snat.fd < 0 && revnat.fd < 0)) return report;
  edge_config cfg{};
  __u32 zero = 0;
  if (bpf_map_lookup_elem(config.fd, &zero, &cfg) != 0) ThrowErrno("reading kpr_xdp_config", errno);
  Writer writer(report);
  const FlowTable flows(map_dir);
  // A flow of either map: left out when closed, else written, then let go.
  auto hand_over = [&](__u8 proto, __u8 state, uint64_t& written, auto entry, auto let_go) {
    if (ct_closed(proto, state)) {
      report.closed++;
    } else if (writer.Write(entry())) {
      written++;
      let_go();
    }
  };
  if (snat.fd >= 0) {
    ForEach<edge_snat_key, edge_snat_val>(snat.fd, [&](const edge_snat_key& k, const edge_snat_val& v) {
      hand_over(
          k.proto, v.state, report.snat, [&] { return SnatEntry(k, v, cfg.timeouts); },
          [&] { flows.Forget(v.client_addr, SnatClientPort(k, v), k.proto, k.family, v.svc_id); });
    });
  }
  if (revnat.fd >= 0) {
    ForEach<edge_revnat_key, edge_revnat_val>(revnat.fd, [&](const edge_revnat_key& k, const edge_revnat_val& v) {
      hand_over(
          k.proto, v.state, report.local, [&] { return LocalEntry(k, v, cfg.timeouts); },
          [&] { flows.Forget(k.client_addr, k.client_port, k.proto, k.family, flows.ServiceOf(v.frontend_addr, v.frontend_port, k.proto, k.family)); });
    });
  }
  return report;
}

}  // namespace kpr

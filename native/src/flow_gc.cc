#include "flow_gc.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <functional>
#include <unordered_map>

#include "bpf_errors.h"
#include "coarse_clock.h"
#include "loader.h"
#include "map_batch.h"

extern "C" {
#include "kpr_flow_lifetime.h"
#include "kpr_sock_types.h"
#include "kpr_edge_types.h"
}

namespace kpr {

namespace {

// What one step judges entries by: the time, the timeouts and node
// addresses the programs use, and the services that exist.
struct Context {
  __u64 now_ns = 0;
  __u32 clock_s = 0;  // the datapath clock, ticked by this step
  edge_config cfg{};
  // The agent has written the timeouts: until then nothing is judged.
  bool judged = false;
  // A flow seen at or after this clock second was seen while no agent ticked
  // the clock (the last one had stopped): it counts as seen at since_s. 0: none.
  __u32 unticked_from_s = 0;
  __u32 since_s = 0;
  // svc_id -> its ClientIP affinity timeout in seconds (0: no affinity).
  std::unordered_map<__u32, __u32> services;

  // When a flow was last seen, for all this collector knows.
  __u32 Seen(__u32 seen_s) const {
    return unticked_from_s && ct_idle_s(unticked_from_s, seen_s) >= 0 && ct_idle_s(seen_s, since_s) > 0 ? since_s : seen_s;
  }
  bool Expired(__u8 proto, __u8 state, __u32 seen_s) const {
    return ct_expired(&cfg.timeouts, proto, state, Seen(seen_s), clock_s);
  }
};

enum class Verdict {
  kKeep,
  kDelete,
};

}  // namespace

struct FlowGc::Collected {
  Collected(std::string n, int f) : name(std::move(n)), fd(f) {}
  virtual ~Collected() { close(fd); }
  virtual FlowGcReport Step(size_t budget, const Context& ctx) = 0;
  // Whether the map's entries are judged (and so wait for the agent's timeouts).
  virtual bool Judges() const { return true; }

  std::string name;
  int fd;
  int64_t live_last = -1;
  uint64_t live_pass = 0;

 protected:
  // Closes a pass's count when the walk finished one.
  void Account(FlowGcReport& r) {
    r.map = name;
    if (r.pass_done) {
      live_last = static_cast<int64_t>(live_pass);
      live_pass = 0;
    }
    r.live = live_last;
  }
};

namespace {

// A map whose entries are judged one by one. An entry found dead is read
// again before it goes: a packet may have refreshed it since the walk read
// it. release undoes what the entry's flow holds elsewhere.
template <typename K, typename V>
struct Judged : FlowGc::Collected {
  using Judge = std::function<Verdict(const K&, const V&, const Context&)>;
  using Release = std::function<void(const K&, const V&, const Context&)>;

  Judged(std::string n, int f, Judge j, Release r = nullptr) : Collected(std::move(n), f), judge(j), release(r) {}

  FlowGcReport Step(size_t budget, const Context& ctx) override {
    FlowGcReport r;
    std::vector<K> dead;
    r.pass_done = walk.Step(fd, budget, [&](const K& k, const V& v) {
      r.visited++;
      if (judge(k, v, ctx) == Verdict::kDelete) dead.push_back(k);
      else live_pass++;
    });
    for (const K& k : dead) {
      V v;
      if (bpf_map_lookup_elem(fd, &k, &v) != 0) continue;
      if (judge(k, v, ctx) != Verdict::kDelete) {
        live_pass++;
        continue;
      }
      if (release) release(k, v, ctx);
      if (bpf_map_delete_elem(fd, &k) == 0) r.deleted++;
    }
    Account(r);
    return r;
  }

  MapWalk<K, V> walk;
  Judge judge;
  Release release;
};

// A map only counted: its entries are retired by the LRU alone.
template <typename K, typename V>
struct Counted : FlowGc::Collected {
  using Collected::Collected;

  bool Judges() const override { return false; }

  FlowGcReport Step(size_t budget, const Context&) override {
    FlowGcReport r;
    r.pass_done = walk.Step(fd, budget, [&](const K&, const V&) {
      r.visited++;
      live_pass++;
    });
    Account(r);
    return r;
  }

  MapWalk<K, V> walk;
};

bool ServiceExists(const Context& ctx, __u32 svc_id) { return ctx.services.count(svc_id) != 0; }

Verdict DeleteIf(bool dead) { return dead ? Verdict::kDelete : Verdict::kKeep; }

// A flow entry of a service gone, or idle past its timeout.
template <typename K>
Verdict JudgeFlow(const K& k, const edge_flow_val& v, const Context& ctx) {
  return DeleteIf(!ServiceExists(ctx, k.svc_id) || ctx.Expired(k.proto, v.state, v.seen_s));
}

// An affinity past its service's timeout (the client's last new connection
// plus the timeout, as the program judges it), or of a service gone.
Verdict JudgeAffinity(const edge_affinity_key& k, const edge_stick_val& v, const Context& ctx) {
  auto it = ctx.services.find(k.svc_id);
  if (it == ctx.services.end() || it->second == 0) return Verdict::kDelete;
  // Signed: a packet on another CPU may have stamped a later time than this step read.
  return DeleteIf(static_cast<__s64>(ctx.now_ns - v.last_seen_ns) > static_cast<__s64>(it->second) * static_cast<__s64>(KPR_NSEC_PER_SEC));
}

Verdict JudgeSnat(const edge_snat_key& k, const edge_snat_val& v, const Context& ctx) {
  return DeleteIf(ctx.Expired(k.proto, v.state, v.seen_s));
}

Verdict JudgeRevnat(const edge_revnat_key& k, const edge_revnat_val& v, const Context& ctx) {
  return DeleteIf(ctx.Expired(k.proto, v.state, v.seen_s));
}

// The client's pointer to a snat flow's port, as kpr_edge_snat.h keys it.
edge_snat_port_key ClientKey(const edge_snat_key& k, const edge_snat_val& v) {
  edge_snat_port_key ck{};
  memcpy(ck.client_addr, v.client_addr, sizeof(ck.client_addr));
  memcpy(ck.backend_addr, k.backend_addr, sizeof(ck.backend_addr));
  ck.client_port = v.client_port ? v.client_port : k.snat_port;
  ck.backend_port = k.backend_port;
  ck.proto = k.proto;
  ck.family = k.family;
  return ck;
}

// The flow a client's pointer names, through this node's address.
edge_snat_key FlowKey(const edge_snat_port_key& ck, __u16 port, const Context& ctx) {
  edge_snat_key k{};
  memcpy(k.backend_addr, ck.backend_addr, sizeof(k.backend_addr));
  if (ck.family == KPR_AF_INET)
    memcpy(k.node_addr, ctx.cfg.node_addr4, sizeof(ctx.cfg.node_addr4));
  else
    memcpy(k.node_addr, ctx.cfg.node_addr6, sizeof(ctx.cfg.node_addr6));
  k.backend_port = ck.backend_port;
  k.snat_port = port;
  k.proto = ck.proto;
  k.family = ck.family;
  return k;
}

}  // namespace

FlowGc::FlowGc(const std::string& map_dir) {
  auto pinned = [&](const char* name) { return OpenPinnedMapIfAny(map_dir + "/" + name); };
  try {
    config_fd_ = pinned("kpr_xdp_config");
    frontends_fd_ = pinned("kpr_edge_frontends");
    started_s_ = ct_clock_of(CoarseNowNs());
    if (config_fd_ >= 0) {
      edge_config cfg{};
      __u32 zero = 0;
      if (bpf_map_lookup_elem(config_fd_, &zero, &cfg) != 0) ThrowErrno("reading kpr_xdp_config", errno);
      unticked_from_s_ = cfg.agent_clock_s;
    }
    auto add = [&](const char* name, auto make) {
      int fd = pinned(name);
      if (fd >= 0) maps_.push_back(make(name, fd));
    };
    if (config_fd_ >= 0 && frontends_fd_ >= 0) {
      add("kpr_edge_flows4", [](const char* n, int fd) {
        return std::make_unique<Judged<edge_flow_key4, edge_flow_val>>(n, fd, JudgeFlow<edge_flow_key4>);
      });
      add("kpr_edge_flows6", [](const char* n, int fd) {
        return std::make_unique<Judged<edge_flow_key6, edge_flow_val>>(n, fd, JudgeFlow<edge_flow_key6>);
      });
      add("kpr_edge_affinity", [](const char* n, int fd) {
        return std::make_unique<Judged<edge_affinity_key, edge_stick_val>>(n, fd, JudgeAffinity);
      });
      int snat_ports_fd = pinned("kpr_edge_snat_ports");
      extra_fds_.push_back(snat_ports_fd);
      int snat_fd = pinned("kpr_edge_snat");
      extra_fds_.push_back(snat_fd);
      add("kpr_edge_snat", [&](const char* n, int fd) {
        // An ended flow's client no longer points at its port (unless it has moved on to another).
        auto release = [snat_ports_fd](const edge_snat_key& k, const edge_snat_val& v, const Context&) {
          edge_snat_port_key ck = ClientKey(k, v);
          __u16 port;
          if (snat_ports_fd >= 0 && bpf_map_lookup_elem(snat_ports_fd, &ck, &port) == 0 && port == k.snat_port)
            bpf_map_delete_elem(snat_ports_fd, &ck);
        };
        return std::make_unique<Judged<edge_snat_key, edge_snat_val>>(n, fd, JudgeSnat, release);
      });
      add("kpr_edge_snat_ports", [&](const char* n, int fd) {
        // A pointer whose flow is gone or now another client's: left by a
        // flow whose entry went first (a crash between the two deletes).
        auto judge = [snat_fd](const edge_snat_port_key& ck, const __u16& port, const Context& ctx) {
          edge_snat_key k = FlowKey(ck, port, ctx);
          edge_snat_val v;
          if (snat_fd < 0 || bpf_map_lookup_elem(snat_fd, &k, &v) != 0) return Verdict::kDelete;
          bool own = memcmp(v.client_addr, ck.client_addr, sizeof(v.client_addr)) == 0 &&
                     (v.client_port ? v.client_port : port) == ck.client_port;
          return own ? Verdict::kKeep : Verdict::kDelete;
        };
        return std::make_unique<Judged<edge_snat_port_key, __u16>>(n, fd, judge);
      });
      add("kpr_edge_revnat", [](const char* n, int fd) {
        return std::make_unique<Judged<edge_revnat_key, edge_revnat_val>>(n, fd, JudgeRevnat);
      });
    }
    add("kpr_edge_fragments", [](const char* n, int fd) { return std::make_unique<Counted<edge_frag_key, edge_frag_val>>(n, fd); });
    add("kpr_affinity", [](const char* n, int fd) { return std::make_unique<Counted<sock_affinity_key, sock_affinity_val>>(n, fd); });
    add("kpr_revnat", [](const char* n, int fd) { return std::make_unique<Counted<sock_revnat_key, sock_revnat_val>>(n, fd); });
  } catch (...) {
    Close();
    throw;
  }
}

FlowGc::~FlowGc() { Close(); }

void FlowGc::Close() {
  maps_.clear();
  for (int* fd : {&config_fd_, &frontends_fd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
  for (int fd : extra_fds_)
    if (fd >= 0) close(fd);
  extra_fds_.clear();
}

std::vector<FlowGcReport> FlowGc::Step(size_t budget) {
  Context ctx;
  ctx.now_ns = CoarseNowNs();
  ctx.clock_s = ct_clock_of(ctx.now_ns);
  ctx.unticked_from_s = unticked_from_s_;
  ctx.since_s = started_s_;
  if (config_fd_ >= 0) {
    __u32 zero = 0;
    if (bpf_map_lookup_elem(config_fd_, &zero, &ctx.cfg) != 0) ThrowErrno("reading kpr_xdp_config", errno);
    ctx.judged = ctx.cfg.timeouts.tcp_established != 0;
    // The tick that keeps the datapath clock running while flows carry on
    // and no new one reads the real clock.
    ctx.cfg.clock_s = std::max(ctx.cfg.clock_s, ctx.clock_s);
    ctx.cfg.agent_clock_s = ctx.clock_s;
    if (bpf_map_update_elem(config_fd_, &zero, &ctx.cfg, BPF_ANY) != 0) ThrowErrno("ticking the clock in kpr_xdp_config", errno);
  }
  if (frontends_fd_ >= 0) {
    ForEach<edge_fe_key, edge_fe_val>(frontends_fd_, [&](const edge_fe_key&, const edge_fe_val& v) {
      ctx.services[v.svc_id] = (v.flags & KPR_EDGE_F_AFFINITY) ? v.affinity_timeout : 0;
    });
  }
  std::vector<FlowGcReport> out;
  for (auto& m : maps_) {
    if (m->Judges() && !ctx.judged) continue;
    out.push_back(m->Step(budget, ctx));
  }
  return out;
}

}  // namespace kpr

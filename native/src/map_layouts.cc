#include "map_layouts.h"

#include <bpf/bpf.h>

#include <cstring>

#include "coarse_clock.h"

#include "kpr_flow_lifetime.h"
#include "kpr_edge_types.h"

namespace kpr {

namespace {

// kpr_edge_backends before DSR: every backend was on this node, which the
// current layout says with an all-zero node_addr.
struct edge_backend_local_only {
  __u8 addr[16];
  __u16 port;
  __u8 family;
  __u8 pad;
  __u32 svc_id;
};
static_assert(sizeof(edge_backend_local_only) == 24, "the layout pinned by builds before DSR");

void EdgeBackendFromLocalOnly(const uint8_t* key, const uint8_t* value, uint8_t* new_key, uint8_t* new_value) {
  edge_backend_local_only old;
  memcpy(&old, value, sizeof(old));
  edge_backend b{};
  memcpy(b.addr, old.addr, sizeof(b.addr));
  b.port = old.port;
  b.family = old.family;
  b.svc_id = old.svc_id;
  memcpy(new_key, key, sizeof(__u32));
  memcpy(new_value, &b, sizeof(b));
}

// A flow carried over from a build without lifetimes counts as seen now (so
// that no live flow expires for its upgrade), established and answered (so
// that it gets the established timeout, not the SYN's).
constexpr __u8 kCarriedOverState = KPR_CT_ESTABLISHED | KPR_CT_REPLIED;
__u32 ClockNow() { return ct_clock_of(CoarseNowNs()); }

// kpr_edge_flows4/6 before flow lifetimes: the value kpr_edge_affinity still has.
edge_flow_val FlowFromAgeless(const uint8_t* value) {
  edge_stick_val old;
  memcpy(&old, value, sizeof(old));
  edge_flow_val v{};
  v.backend_id = old.backend_id;
  v.seen_s = ClockNow();
  v.state = kCarriedOverState;
  return v;
}

// kpr_edge_flows4/6 before a flow's snat port was trusted for the second it
// was checked in: the same first fields, and no port checked yet.
struct edge_flow_val_unchecked {
  __u32 backend_id;
  __u32 seen_s;
  __u8 state;
  __u8 pad;
  __u16 snat_port;
};
static_assert(sizeof(edge_flow_val_unchecked) == 12, "the layout pinned by builds before the snat port's check");

edge_flow_val FlowFromUnchecked(const uint8_t* value) {
  edge_flow_val v{};
  memcpy(&v, value, sizeof(edge_flow_val_unchecked));
  return v;
}

// An entry of kpr_edge_flows4 or 6 (keyed by Key) from an older layout of its value.
template <typename Key, edge_flow_val (*FromOld)(const uint8_t*)>
void EdgeFlowFrom(const uint8_t* key, const uint8_t* value, uint8_t* new_key, uint8_t* new_value) {
  edge_flow_val v = FromOld(value);
  memcpy(new_key, key, sizeof(Key));
  memcpy(new_value, &v, sizeof(v));
}

// kpr_edge_snat before flow lifetimes (an LRU hash).
struct edge_snat_val_ageless {
  __u8 client_addr[16];
  __u8 frontend_addr[16];
  __u16 frontend_port;
  __u16 client_port;
  __u32 svc_id;
};
static_assert(sizeof(edge_snat_val_ageless) == 40, "the layout pinned by builds before flow lifetimes");

void EdgeSnatFromAgeless(const uint8_t* key, const uint8_t* value, uint8_t* new_key, uint8_t* new_value) {
  edge_snat_val_ageless old;
  memcpy(&old, value, sizeof(old));
  edge_snat_val v{};
  memcpy(v.client_addr, old.client_addr, sizeof(v.client_addr));
  memcpy(v.frontend_addr, old.frontend_addr, sizeof(v.frontend_addr));
  v.frontend_port = old.frontend_port;
  v.client_port = old.client_port;
  v.svc_id = old.svc_id;
  v.seen_s = ClockNow();
  v.state = kCarriedOverState;
  memcpy(new_key, key, sizeof(edge_snat_key));
  memcpy(new_value, &v, sizeof(v));
}

// kpr_edge_snat_ports before flow lifetimes: the same entries in an LRU hash.
void EdgeSnatPortsFromLru(const uint8_t* key, const uint8_t* value, uint8_t* new_key, uint8_t* new_value) {
  memcpy(new_key, key, sizeof(edge_snat_port_key));
  memcpy(new_value, value, sizeof(__u16));
}

// kpr_edge_revnat before flow lifetimes.
struct edge_revnat_val_ageless {
  __u8 frontend_addr[16];
  __u16 frontend_port;
  __u16 pad;
};
static_assert(sizeof(edge_revnat_val_ageless) == 20, "the layout pinned by builds before flow lifetimes");

void EdgeRevnatFromAgeless(const uint8_t* key, const uint8_t* value, uint8_t* new_key, uint8_t* new_value) {
  edge_revnat_val_ageless old;
  memcpy(&old, value, sizeof(old));
  edge_revnat_val v{};
  memcpy(v.frontend_addr, old.frontend_addr, sizeof(v.frontend_addr));
  v.frontend_port = old.frontend_port;
  v.seen_s = ClockNow();
  v.state = kCarriedOverState;
  memcpy(new_key, key, sizeof(edge_revnat_key));
  memcpy(new_value, &v, sizeof(v));
}

// kpr_xdp_config before flow lifetimes: the agent writes the rest at its
// first sync, before any new flow can need it; the clock starts now.
struct edge_config_ageless {
  __u8 node_addr4[4];
  __u8 node_addr6[16];
  __u32 maglev_size;
  __u32 hash_seed;
};
static_assert(sizeof(edge_config_ageless) == 28, "the layout pinned by builds before flow lifetimes");

void EdgeConfigFromAgeless(const uint8_t* key, const uint8_t* value, uint8_t* new_key, uint8_t* new_value) {
  edge_config v{};
  memcpy(&v, value, sizeof(edge_config_ageless));
  v.clock_s = ClockNow();
  memcpy(new_key, key, sizeof(__u32));
  memcpy(new_value, &v, sizeof(v));
}

constexpr LayoutMigration kLayoutMigrations[] = {
    {"kpr_edge_backends", sizeof(__u32), sizeof(edge_backend_local_only), 0, "backends before DSR, all on this node",
     EdgeBackendFromLocalOnly},
    {"kpr_edge_flows4", sizeof(edge_flow_key4), sizeof(edge_stick_val), 0, "flows before flow lifetimes",
     EdgeFlowFrom<edge_flow_key4, FlowFromAgeless>},
    {"kpr_edge_flows6", sizeof(edge_flow_key6), sizeof(edge_stick_val), 0, "flows before flow lifetimes",
     EdgeFlowFrom<edge_flow_key6, FlowFromAgeless>},
    {"kpr_edge_flows4", sizeof(edge_flow_key4), sizeof(edge_flow_val_unchecked), 0, "flows before the snat port's check",
     EdgeFlowFrom<edge_flow_key4, FlowFromUnchecked>},
    {"kpr_edge_flows6", sizeof(edge_flow_key6), sizeof(edge_flow_val_unchecked), 0, "flows before the snat port's check",
     EdgeFlowFrom<edge_flow_key6, FlowFromUnchecked>},
    {"kpr_edge_snat", sizeof(edge_snat_key), sizeof(edge_snat_val_ageless), BPF_MAP_TYPE_LRU_HASH,
     "snat flows before flow lifetimes", EdgeSnatFromAgeless},
    {"kpr_edge_snat_ports", sizeof(edge_snat_port_key), sizeof(__u16), BPF_MAP_TYPE_LRU_HASH,
     "snat ports before flow lifetimes (an LRU hash)", EdgeSnatPortsFromLru},
    {"kpr_edge_revnat", sizeof(edge_revnat_key), sizeof(edge_revnat_val_ageless), 0, "reverse NAT before flow lifetimes",
     EdgeRevnatFromAgeless},
    {"kpr_xdp_config", sizeof(__u32), sizeof(edge_config_ageless), 0, "the edge config before flow lifetimes",
     EdgeConfigFromAgeless},
};

}  // namespace

const LayoutMigration* FindLayoutMigration(const std::string& map, uint32_t map_type, uint32_t key_size, uint32_t value_size,
                                           uint32_t wanted_type) {
  for (const auto& m : kLayoutMigrations)
    if (map == m.map && key_size == m.key_size && value_size == m.value_size && map_type == (m.map_type ? m.map_type : wanted_type))
      return &m;
  return nullptr;
}

}  // namespace kpr

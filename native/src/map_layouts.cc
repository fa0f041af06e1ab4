#include "map_layouts.h"

#include <cstring>

#include "kpr_xdp_types.h"

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

constexpr LayoutMigration kLayoutMigrations[] = {
    {"kpr_edge_backends", sizeof(__u32), sizeof(edge_backend_local_only), "backends before DSR, all on this node",
     EdgeBackendFromLocalOnly},
};

}  // namespace

const LayoutMigration* FindLayoutMigration(const std::string& map, uint32_t key_size, uint32_t value_size) {
  for (const auto& m : kLayoutMigrations)
    if (map == m.map && key_size == m.key_size && value_size == m.value_size) return &m;
  return nullptr;
}

}  // namespace kpr

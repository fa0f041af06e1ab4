// Before kpr leaves a node (`kpr cleanup`), the flows its edge programs carry
// are written into the node's conntrack with their translation, so that the
// proxy taking over (kube-proxy, whose rules translate only a connection's
// first packet) carries them on to the same backend: a snat flow
// (kpr_edge_snat) as a connection translated both ways, the client's
// destination to the backend and its source to the node's snat port; a flow
// to a backend on this node (kpr_edge_revnat) as one whose destination is
// translated. The latter already has an untranslated entry (its packets
// reached the stack with the backend's address), which holds the reply tuple
// the translated one needs: it is replaced.
//
// Left out: TCP flows closed both ways or reset, nothing more being owed to
// them. Flows tunnelled to a backend on another node (dsr) have neither
// entry where they enter, and no proxy without direct server return could
// carry them on: their backend would see a new connection from the node
// (where such a tunnel ends, its reverse-NAT entry is written as a local
// flow's, of no use once the entering node's kpr is gone).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace kpr {

struct HandoverReport {
  uint64_t snat = 0;     // snat flows written
  uint64_t local = 0;    // flows to a backend on this node written
  uint64_t replaced = 0; // of which an untranslated entry was replaced
  uint64_t closed = 0;   // TCP flows left out, closed or reset
  uint64_t failed = 0;
  std::vector<std::string> errors;  // the first few failures, each with its flow
};

// The maps pinned in map_dir (none there: nothing to hand over), written to
// the conntrack of the calling thread's network namespace.
HandoverReport HandOverEdgeFlows(const std::string& map_dir);

}  // namespace kpr

// How a hold's flows (client.ts hold --flows N) fared, flow by flow, and
// what else the datapath tests that hand established flows from one proxy to
// another share: the outside client behind a hop of a smaller MTU, its held
// flows' sizes, and what the backends learn of that hop.
import type { HoldClient } from './client_runner';
import type { HoldEvent } from './client_report';
import { EdgeTopology, forgetLearntPathMtus, learntPathMtu } from './edge_topology';

/** The router's hop towards the outside client (edge_topology.ts clientHopMtu). */
export const CLIENT_HOP_MTU = 1400;
/** The outside client's held flows: UDP requests in fragments, TCP answers of several segments. */
export const OUTSIDE_HOLD_SIZES = { udp: { requestBytes: 3000, answerBytes: 1000 }, tcp: { answerBytes: 3000 } };

/** The path MTU each backend has learnt towards where it answers the outside
 *  client: the client itself (a backend on node A, the client's node) or
 *  node A (a backend on node B, whose flows node A translates the source of). */
export function backendPathMtus(topo: EdgeTopology): { pod: string; family: string; mtu: number | undefined }[] {
  const [nodeA, ...others] = topo.nodes;
  const towards = (family: 'ipv4' | 'ipv6', onA: boolean) => (onA ? topo.client[family] : nodeA[family]);
  return [...nodeA.pods.map((p) => [p, true] as const), ...others.flatMap((n) => n.pods.map((p) => [p, false] as const))].flatMap(([p, onA]) =>
    (['ipv4', 'ipv6'] as const).map((family) => ({ pod: p.name, family, mtu: learntPathMtu(p, towards(family, onA)) })),
  );
}

/** The backends forget what they learnt of the path: the next big packets meet the hop again. */
export function forgetPathMtus(topo: EdgeTopology): void {
  for (const p of topo.nodes.flatMap((n) => n.pods)) forgetLearntPathMtus(p);
}

/** Per flow of a hold, once established (its first answer): whether it
 *  answered every probe after, and always from one backend. A failed probe
 *  sent inside `excused` (hold-relative ms) is counted apart, not as broken.
 *  With lossesRecover (UDP, whose one lost fragment or answer loses the
 *  exchange), a failed probe that the flow answers after, from its one
 *  backend, is counted in `lost`, not as a break: the caller bounds those by
 *  the frames its network dropped (edge_topology.ts droppedFrames). */
export function flowOutcomes(
  events: HoldEvent[],
  excused?: { from: number; to: number },
  lossesRecover = false,
): { flows: number; broken: number; moved: number; excused: number; lost: number; backends: Set<string>; errors: Record<string, number> } {
  const byFlow = new Map<number, HoldEvent[]>();
  for (const e of events) if (e.type !== 'done') byFlow.set(e.flow ?? 0, [...(byFlow.get(e.flow ?? 0) ?? []), e]);
  let broken = 0;
  let moved = 0;
  let excusedProbes = 0;
  let lost = 0;
  const backends = new Set<string>();
  const errors: Record<string, number> = {};
  for (const flowEvents of byFlow.values()) {
    const established = flowEvents.findIndex((e) => e.type === 'probe' && e.ok);
    const after = established < 0 ? [] : flowEvents.slice(established);
    const names = new Set(after.flatMap((e) => (e.type === 'probe' && e.backend ? [e.backend] : [])));
    names.forEach((n) => backends.add(n));
    const sentIn = (e: HoldEvent) => excused !== undefined && e.type === 'probe' && e.t - e.ms >= excused.from && e.t - e.ms <= excused.to;
    const lastAnswer = after.map((e) => e.type === 'probe' && e.ok).lastIndexOf(true);
    const recovered = (e: HoldEvent, i: number) => lossesRecover && e.type === 'probe' && !e.ok && i < lastAnswer;
    excusedProbes += after.filter((e) => e.type === 'probe' && !e.ok && sentIn(e)).length;
    lost += after.filter((e, i) => !sentIn(e) && recovered(e, i)).length;
    const failures = after.flatMap((e, i) =>
      e.type === 'error' || (e.type === 'probe' && !e.ok && !sentIn(e) && !recovered(e, i)) ? [`${e.type === 'probe' ? `probe ${e.seq}` : 'socket'} ${e.error}`] : [],
    );
    for (const f of failures) errors[f] = (errors[f] ?? 0) + 1;
    if (established < 0 || failures.length > 0) broken++;
    if (names.size > 1) moved++;
  }
  return { flows: byFlow.size, broken, moved, excused: excusedProbes, lost, backends, errors };
}

/** How many of a hold's flows have answered. */
export const answering = (h: HoldClient) => new Set(h.probes().flatMap((p) => (p.ok ? [p.flow ?? 0] : []))).size;

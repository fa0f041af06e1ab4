// How the edge LB picks a backend for a new connection, by Cilium's names:
// "maglev" hashes the client's address and port into the service's Maglev
// table, so that every node picks the same backend for a connection (a
// connection that moves between nodes, after an ECMP change, keeps its
// backend); "random" picks a random slot of the same table. --bpf-lb-algorithm
// picks for all services; a service may pick for itself with Cilium's
// annotation.
import { annotationChoice, Choice } from './annotation_choice';
import { Service } from './objects';

export const LB_ALGORITHMS = ['maglev', 'random'] as const;
export type LbAlgorithm = (typeof LB_ALGORITHMS)[number];

export const LB_ALGORITHM_ANNOTATION = 'service.cilium.io/lb-algorithm';

export function annotatedLbAlgorithm(svc: Service): Choice<LbAlgorithm> {
  return annotationChoice(svc, LB_ALGORITHM_ANNOTATION, LB_ALGORITHMS);
}

export function lbAlgorithm(svc: Service, configured: LbAlgorithm): LbAlgorithm {
  return annotatedLbAlgorithm(svc).value ?? configured;
}

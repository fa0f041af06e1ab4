// What the sync loop asks of each load balancer: the loop computes the
// desired state once, then hands it to each LB in turn (the socket LB's,
// then the edge LB's when it runs), and each programs its own maps, attaches
// its own programs and says what it did in its own log line.
import { DesiredState } from '../model/desired';
import { NodeContext } from '../model/node';
import { RunKind } from './runner';

export type LbName = 'socket' | 'edge';

export interface SyncContext {
  node: NodeContext;
  /** 'full': the maps are read again first. */
  kind: RunKind;
  /** The agent is ready and nothing changed since its last sync: a sync
   *  that finds everything in place is routine. */
  routine: boolean;
  /** Milliseconds since the sync began. */
  elapsed: () => number;
  /** The addresses of this node's pods the socket LB leaves alone (socket_lb_bypass.ts). */
  socketBypass: string[];
  /** The service CIDRs (ServiceCIDR objects), canonical and sorted. */
  serviceCidrs: string[];
}

export interface LbSync {
  readonly name: LbName;
  /** Brings the LB in line with desired; throws when a map write fails,
   *  and the loop retries. */
  sync(desired: DesiredState, ctx: SyncContext): void;
}


// An LB as the agent opens it (socket/socket_lb.ts, edge/edge_lb.ts): its
// part of each sync, and what kpr's metrics read of it, capacities included.
import { Logger } from '../log';
import { DatapathMetrics, LbMetrics } from '../metrics/datapath_metrics';
import { AttachmentRepair } from '../sync/attachment_repair';
import { CapacityReport } from '../sync/capacity';
import { LbSync } from '../sync/lb_sync';

/** An LB the agent opened: its part of each sync, and what metrics read of it. */
export interface LoadBalancer {
  sync: LbSync;
  metrics: LbMetrics;
  /** Ends what the LB runs besides its syncs. */
  stop?(): void;
}

/** What opening an LB takes from the agent. */
export interface LbDeps {
  kpr: DatapathMetrics;
  capacity: CapacityReport;
  repair: AttachmentRepair;
  /** Asks for a sync although no object changed: the maps did. */
  resync: () => void;
  log: Logger;
}

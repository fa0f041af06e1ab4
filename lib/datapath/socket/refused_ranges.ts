// The socket LB's kpr_sock_service_ranges: the service CIDRs and ClusterIPs
// whose unserved ports are refused (model/refused_addresses.ts), written
// after the frontends, so that a new service's ClusterIP is served before
// its other ports are refused, and only when they change. A full sync
// checks on another thread that the map still holds them (map_check.ts);
// when it does not, the sync that follows writes them again, which reads
// the map back and mends it.
import { Logger } from '../../log';
import { DesiredState } from '../../model/desired';
import { refusedRanges } from '../../model/refused_addresses';
import { MapCheck } from '../map_check';
import { SocketDatapath } from '../native';
import { rangesDigest } from './map_digest';

export interface RefusedRangesOptions {
  dp: Pick<SocketDatapath, 'replaceServiceRanges' | 'serviceRangesDigestLater'>;
  /** Unassigned addresses of the service CIDRs are this proxy's to refuse. */
  ownsServiceCidrs: boolean;
  /** Asks for a sync: the map changed behind the agent's back. */
  resync: () => void;
  log: Logger;
}

export class RefusedRanges {
  /** The ranges written last, joined, and their digest (map_digest.ts). */
  private written?: string;
  private digest?: string;
  /** What they were made from: the same frontend layout and service CIDRs make the same ranges. */
  private from?: { layout: object; cidrs: readonly string[] };
  /** A full sync's check found the map changed behind the agent's back. */
  private drifted = false;
  private readonly check = new MapCheck();

  constructor(private readonly o: RefusedRangesOptions) {}

  sync(desired: DesiredState, cidrs: readonly string[], full: boolean): void {
    const rewrite = this.drifted || (full && this.check.overdue);
    if (rewrite || desired.layout !== this.from?.layout || cidrs !== this.from.cidrs) {
      const ranges = refusedRanges(cidrs, desired.frontends, this.o.ownsServiceCidrs);
      const joined = ranges.join(',');
      if (joined !== this.written || rewrite) {
        this.o.dp.replaceServiceRanges(ranges);
        this.check.wrote();
        this.written = joined;
        this.digest = rangesDigest(ranges);
        this.o.log.debug(`socket LB: ${ranges.length} service CIDRs and ClusterIPs refuse the ports no frontend serves`);
      }
      this.from = { layout: desired.layout, cidrs };
      this.drifted = false;
      if (rewrite) this.check.settled();
    } else if (full && this.digest !== undefined) {
      const want = this.digest;
      this.check.start(
        () => this.o.dp.serviceRangesDigestLater().then((held) => held.ranges === want),
        () => {
          this.drifted = true;
          this.o.log.warn('socket LB: kpr_sock_service_ranges no longer holds what the agent wrote; writing it again');
          this.o.resync();
        },
      );
    }
  }
}

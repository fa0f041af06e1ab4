// What the flow-rate benchmark adds to the datapath benchmark's network
// (datapath_topology.ts), peer by peer, since each peer gets a backend
// namespace of its own: every node holds the same Node address, and the
// backend routes it to the one node it is linked to.
//   - kpr snat-translates the client's packets to come from the Node address,
//     so the backend routes that address back to the node, where kpr's XDP
//     (on the node's backend device too) turns the replies back;
//   - XDP redirects into the backend's veth, whose far end then needs a
//     program of its own (passXdp), set for every peer alike;
//   - the client has CLIENT_SOURCES addresses (flowrate.c says why), which
//     the node routes back to it through the client's link address. XDP
//     forwards only to a resolved neighbour (kpr_fib.h), and the client's
//     own ARP requests name the source address of its first packet: the
//     node resolves the client's link address itself, as a router has its
//     neighbours before traffic comes.
import { ip, run } from '../helpers/run';
import { sleep } from '../helpers/sleep';
import { NODE_ADDRESS } from './control_plane_objects';
import { Backend, passXdp, Slot } from './datapath_topology';

const sourceAddress = (i: number) => `198.18.254.${1 + i}`;

/** 198.18.254.1-64: outside the endpoints' and the links' ranges. 64
 *  addresses of 28232 ports each hold 30k new TCP flows/s in TIME_WAIT. */
export const CLIENT_SOURCES = { first: sourceAddress(0), count: 64, net: '198.18.254.0/25' };

const NEIGHBOUR_TRIES = 50;
const NEIGHBOUR_POLL_MS = 100;
/** The discard port: the client answers with an ICMP error, which is all it takes. */
const NUDGE_PORT = 9;

/** Sends the client a datagram from the node until the node has its MAC address. */
async function resolveNeighbour(nodeNs: string, addr: string): Promise<void> {
  for (let i = 0; i < NEIGHBOUR_TRIES; i++) {
    run('ip', ['netns', 'exec', nodeNs, 'bash', '-c', `echo > /dev/udp/${addr}/${NUDGE_PORT}`]);
    await sleep(NEIGHBOUR_POLL_MS);
    if (ip('-n', nodeNs, 'neigh', 'show', addr).includes('lladdr')) return;
  }
  throw new Error(`${nodeNs}: no neighbour entry for ${addr} after ${NEIGHBOUR_TRIES} tries`);
}

export async function extendSlot(backend: Backend, slot: Slot, nodeNs: string): Promise<void> {
  passXdp(backend.ns, slot.backendDev);
  ip('-n', backend.ns, 'route', 'add', `${NODE_ADDRESS}/32`, 'via', slot.nodeLinkAddr);
  for (let i = 0; i < CLIENT_SOURCES.count; i++) ip('-n', slot.clientNs, 'addr', 'add', `${sourceAddress(i)}/32`, 'dev', 'eth0');
  ip('-n', nodeNs, 'route', 'add', CLIENT_SOURCES.net, 'via', slot.clientAddr);
  await resolveNeighbour(nodeNs, slot.clientAddr);
}

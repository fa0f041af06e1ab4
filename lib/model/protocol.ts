// Service and endpoint port protocols. The API defaults an unset protocol to
// TCP; TCP and UDP on the same port number are different frontends.

export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export function protocolOf(p: Protocol | undefined): Protocol {
  return p ?? 'TCP';
}

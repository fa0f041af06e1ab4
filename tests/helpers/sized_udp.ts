// The sized UDP exchange of the test client (client.ts, --request-bytes and
// --answer-bytes) and the echo server (echo_server.ts): a request of any size
// asks for an answer of a given size, and the answer says how many bytes of
// the request arrived, so that a test knows a datagram sent in fragments
// reached the backend whole, and one answered in fragments reached the client
// whole.
//   request: "size <answer bytes> <tag>\n", then 'x' up to its size
//   answer:  "<server name> <request bytes received>\n<tag>\n", then '.' up to its size

/** The least request or answer a probe's lines fit in. */
export const MIN_SIZED_BYTES = 64;
/** The most a UDP datagram carries over IPv4 (65535 less the IP and UDP headers). */
export const MAX_SIZED_BYTES = 65507;

function padded(head: string, bytes: number, fill: string): Buffer {
  if (Buffer.byteLength(head) > bytes) throw new Error(`${JSON.stringify(head)} does not fit in ${bytes} bytes`);
  const out = Buffer.alloc(bytes, fill);
  out.write(head);
  return out;
}

export function sizedRequest(tag: string, requestBytes: number, answerBytes: number): Buffer {
  return padded(`size ${answerBytes} ${tag}\n`, requestBytes, 'x');
}

/** The answer size and tag a sized request asks for; undefined for any other datagram. */
export function parseSizedRequest(msg: Buffer): { answerBytes: number; tag: string } | undefined {
  const m = /^size (\d+) ([^\n]*)\n/.exec(msg.subarray(0, 128).toString('latin1'));
  const answerBytes = Number(m?.[1]);
  if (!m || !(answerBytes >= MIN_SIZED_BYTES && answerBytes <= MAX_SIZED_BYTES)) return undefined;
  return { answerBytes, tag: m[2] };
}

export function sizedAnswer(name: string, received: number, tag: string, answerBytes: number): Buffer {
  return padded(`${name} ${received}\n${tag}\n`, answerBytes, '.');
}

export function parseSizedAnswer(msg: Buffer): { name: string; received: number; tag: string } | undefined {
  const m = /^(\S+) (\d+)\n([^\n]*)\n/.exec(msg.subarray(0, 256).toString('latin1'));
  return m ? { name: m[1], received: Number(m[2]), tag: m[3] } : undefined;
}

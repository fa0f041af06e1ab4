// The namespace side of netns_relay.ts, run inside a network namespace:
// listens on 127.0.0.1:<port> there and joins every connection to the unix
// socket <path>, which the host side serves (unix socket paths are not per
// network namespace). Prints "listening" once it is.
//   node netns_relay_listen.js <port> <unix socket path>
import * as net from 'net';

const [port, socketPath] = [Number(process.argv[2]), process.argv[3]];
if (!Number.isInteger(port) || port < 1 || !socketPath) {
  console.error('usage: netns_relay_listen.js <port> <unix socket path>');
  process.exit(2);
}
const server = net.createServer((client) => {
  const upstream = net.connect(socketPath);
  for (const s of [client, upstream]) s.on('error', () => (client.destroy(), upstream.destroy()));
  client.pipe(upstream).pipe(client);
});
server.listen(port, '127.0.0.1', () => console.log('listening'));

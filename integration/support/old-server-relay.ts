import * as net from 'net';

/**
 * A loopback relay to a real ZooKeeper that behaves like a server older than 3.6 towards
 * persistent watches: every addWatch request (opcode 106) is rewritten to an opcode no ZooKeeper
 * knows, so the server treats it as 3.4/3.5 treat addWatch — an opcode they do not know: it answers
 * UNIMPLEMENTED and closes the connection (the session survives).
 */
export async function oldServerRelay(zkPort: number): Promise<{ port: number; rewritten: () => number; close: () => void }> {
  let rewritten = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(zkPort, '127.0.0.1');
    for (const s of [client, upstream]) { sockets.add(s); s.on('error', () => undefined); s.on('close', () => sockets.delete(s)); }
    let pending = Buffer.alloc(0);
    let first = true;
    client.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const len = pending.readInt32BE(0);
        const frame = pending.subarray(0, 4 + len);
        pending = pending.subarray(4 + len);
        // The first frame is the ConnectRequest (no request header).
        if (!first && len >= 8 && frame.readInt32BE(8) === 106) {
          frame.writeInt32BE(999, 8);
          rewritten++;
        }
        first = false;
        upstream.write(frame);
      }
    });
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    rewritten: () => rewritten,
    close: () => { for (const s of sockets) s.destroy(); server.close(); },
  };
}


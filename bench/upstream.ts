/** A loopback upstream answering JSON after a fixed delay (the "external API" and fetch_data target). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export async function startUpstream(delayMs: number): Promise<{ url: string; close(): Promise<void> }> {
  const body = JSON.stringify({ userId: 1, id: 1, title: 'delectus aut autem', completed: false });
  const server = http.createServer((_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    }, delayMs);
  });
  server.keepAliveTimeout = 60_000;
  server.maxConnections = 10_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/todos/1`,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

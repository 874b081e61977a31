/**
 * A loopback upstream answering JSON after a fixed delay (the "external API" and fetch_data
 * target). It runs in its own process: sharing the load generator's event loop would add
 * the generator's own queueing to every upstream answer, and that is not Conveyor's latency.
 * Run directly (`node bench/upstream.ts <delayMs>`) it serves and prints its port.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

function serve(delayMs: number): void {
  const body = JSON.stringify({ userId: 1, id: 1, title: 'delectus aut autem', completed: false });
  const answer = (res: http.ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const server = http.createServer((_req, res) => (delayMs > 0 ? setTimeout(answer, delayMs, res) : answer(res)));
  server.keepAliveTimeout = 60_000;
  server.maxConnections = 10_000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
}

export async function startUpstream(delayMs: number): Promise<{ url: string; close(): Promise<void> }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), String(delayMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the upstream exited (${code}) before listening`)));
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  return {
    url: `http://127.0.0.1:${port}/todos/1`,
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

if (import.meta.main) serve(Number(process.argv[2] ?? 0));

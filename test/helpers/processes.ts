/** Real `conveyor` child processes for lifecycle tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { expect } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { openData } from '../../src/db/runtime.ts';
import { createToken, createUser } from '../../src/modules/accounts/service.ts';

export const cli = (args: string[], env: Record<string, string>, input?: string) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['src/cli.ts', ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(input ?? '');
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

export interface Served {
  readonly child: ChildProcess;
  readonly base: string;
  output(): string;
  exited: Promise<number | null>;
}

/** Start `conveyor serve` and wait until /healthz answers. */
export async function startServe(env: Record<string, string>, args: string[] = []): Promise<Served> {
  const port = await freePort();
  const child = spawn(process.execPath, ['src/cli.ts', 'serve', '--port', String(port), ...args], {
    env: { ...process.env, LOG_LEVEL: 'info', NODE_ENV: 'test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`serve exited early:\n${out}`);
    try {
      if ((await fetch(`${base}/healthz`)).ok) return { child, base, output: () => out, exited };
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`serve did not become healthy:\n${out}`);
}

/** While an embedded serve runs, reach its database through the socket (as the CLI verbs do) and make a user's token. */
export async function tokenThroughRunningServe(dataDir: string, opts: { staff?: boolean } = {}): Promise<string> {
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  const data = await openData(config, { command: 'test', poolSize: 2 });
  try {
    expect(data.embedded).toBeUndefined(); // a client of the running serve, not a second owner
    const username = `u${Date.now()}${Math.floor(Math.random() * 1000)}`;
    await createUser(data.database.db, { username, password: 'password123', isStaff: opts.staff ?? false });
    return (await createToken(data.database.db, username)).token;
  } finally {
    await data.close();
  }
}

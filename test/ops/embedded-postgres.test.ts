/**
 * The embedded PostgreSQL as a user meets it: `conveyor serve` in a fresh DATA_DIR, as real
 * processes killed by real signals.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { pgBinaries } from '../../src/db/embedded/binaries.ts';
import { clusterDir, socketDirFor, startEmbedded } from '../../src/db/embedded/index.ts';
import { isAlive, readPostmasterPid } from '../../src/db/embedded/postmaster-pid.ts';
import { chooseRunAs } from '../../src/db/embedded/run-as.ts';
import { cli, startServe, tokenThroughRunningServe } from '../helpers/processes.ts';

const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
};
/** Stop any server a test left behind (a killed owner's), then remove its folder. */
afterAll(async () => {
  for (const d of dirs) {
    const left = readPostmasterPid(clusterDir(d));
    if (left && isAlive(left.pid)) process.kill(left.pid, 'SIGQUIT');
    rmSync(d, { recursive: true, force: true });
  }
});
const embeddedEnv = (dataDir: string) => ({ DATA_DIR: dataDir, DATABASE_URL: '', REDIS_URL: '' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('first start', () => {
  it('initialises the cluster, says so, listens only on a private Unix socket, and reuses the cluster at the next start', async () => {
    const dataDir = tempDir('conveyor-first-');
    const first = await startServe(embeddedEnv(dataDir));
    try {
      expect(first.output()).toMatch(/initialising the embedded PostgreSQL cluster/);
      const socketDir = socketDirFor(dataDir);
      expect(statSync(socketDir).mode & 0o777).toBe(0o700);
      expect(existsSync(path.join(socketDir, '.s.PGSQL.5432'))).toBe(true);
      const client = new pg.Client({ connectionString: `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(socketDir)}` });
      await client.connect();
      try {
        const settings = await client.query<{ name: string; setting: string }>(
          `SELECT name, setting FROM pg_settings WHERE name IN ('listen_addresses', 'unix_socket_permissions', 'server_version_num')`,
        );
        const byName = Object.fromEntries(settings.rows.map((r) => [r.name, r.setting]));
        expect(byName.listen_addresses).toBe(''); // no TCP at all
        expect(byName.unix_socket_permissions).toBe('0700');
        expect(Number(byName.server_version_num)).toBeGreaterThanOrEqual(180000);
        // Migrated: the application's and the task engine's tables are there.
        const tables = await client.query<{ t: string | null; j: string | null }>(`SELECT to_regclass('app.items')::text AS t, to_regclass('bullmq.job')::text AS j`);
        expect(tables.rows[0]).toEqual({ t: 'app.items', j: 'bullmq.job' });
      } finally {
        await client.end();
      }
    } finally {
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
    }
    const again = await startServe(embeddedEnv(dataDir));
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
    expect(again.output()).not.toMatch(/initialising/);
  });
});

describe('kill -9 of serve', () => {
  it('leaves the server running; the next serve stops it, starts its own, and every acknowledged write is there', async () => {
    const dataDir = tempDir('conveyor-kill-');
    const first = await startServe(embeddedEnv(dataDir));
    const token = await tokenThroughRunningServe(dataDir);
    const acknowledged: number[] = [];
    let writing = true;
    const writer = async (w: number) => {
      for (let i = 0; writing; i++) {
        const res = await fetch(`${first.base}/api/items`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ name: `kill-${w}-${i}`, score: i }),
        }).catch(() => undefined);
        if (!res) return; // the server is gone
        if (res.status === 201) acknowledged.push(((await res.json()) as { id: number }).id);
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    while (acknowledged.length < 200) await sleep(20);
    const server = readPostmasterPid(clusterDir(dataDir))!;
    first.child.kill('SIGKILL'); // mid-write: four clients are still posting
    writing = false;
    await Promise.all(writers);
    await first.exited;
    expect(isAlive(server.pid)).toBe(true); // a child left behind

    const again = await startServe(embeddedEnv(dataDir));
    try {
      expect(again.output()).toMatch(/still running: stopping it first/);
      expect(isAlive(server.pid)).toBe(false);
      expect(readPostmasterPid(clusterDir(dataDir))!.pid).not.toBe(server.pid);
      const missing: number[] = [];
      for (const id of acknowledged) if ((await fetch(`${again.base}/api/items/${id}`)).status !== 200) missing.push(id);
      expect(missing).toEqual([]);
    } finally {
      again.child.kill('SIGTERM');
      expect(await again.exited).toBe(0);
    }
  });

  it('SIGTERM drains HTTP, then shuts the server down: nothing is left running', async () => {
    const dataDir = tempDir('conveyor-term-');
    const served = await startServe(embeddedEnv(dataDir));
    const server = readPostmasterPid(clusterDir(dataDir))!;
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    const steps = [...served.output().matchAll(/"step":"(\w+)","ms":\d+,"msg":"stopped"/g)].map((m) => m[1]);
    expect(steps).toEqual(expect.arrayContaining(['http', 'database']));
    expect(steps.indexOf('http')).toBeLessThan(steps.indexOf('database'));
    expect(isAlive(server.pid)).toBe(false);
    expect(existsSync(path.join(clusterDir(dataDir), 'postmaster.pid'))).toBe(false);
  });
});

describe('the CLI beside serve', () => {
  it('connects to a running serve, and starts the server itself when none runs', async () => {
    const dataDir = tempDir('conveyor-cli-');
    const alone = await cli(['createuser', 'solo', '--password-stdin'], { ...embeddedEnv(dataDir), LOG_LEVEL: 'silent' }, 'a long enough password\n');
    expect(alone.code, alone.stderr).toBe(0);
    expect(alone.stdout).toMatch(/created user solo/); // it ran to the end (the server's stop kept it alive)
    expect(readPostmasterPid(clusterDir(dataDir))).toBeUndefined(); // it stopped what it started

    const served = await startServe(embeddedEnv(dataDir));
    try {
      const beside = await cli(['createtoken', 'solo'], { ...embeddedEnv(dataDir), LOG_LEVEL: 'silent' });
      expect(beside.code, beside.stderr).toBe(0);
      const res = await fetch(`${served.base}/api/auth/me`, { headers: { authorization: `Bearer ${beside.stdout.trim()}` } });
      expect(((await res.json()) as { user: { username: string } }).user.username).toBe('solo');
    } finally {
      served.child.kill('SIGTERM');
      expect(await served.exited).toBe(0);
    }
  });
});

describe('a DATA_DIR of Conveyor 0.1 (PGlite)', () => {
  it('is refused with one line saying what to do, and left untouched', async () => {
    const dataDir = tempDir('conveyor-legacy-');
    mkdirSync(path.join(dataDir, 'pgdata', 'base'), { recursive: true });
    writeFileSync(path.join(dataDir, 'pgdata', 'PG_VERSION'), '18\n');
    const res = await cli(['serve', '--port', '0'], { ...embeddedEnv(dataDir), LOG_LEVEL: 'silent' });
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/earlier embedded engine \(PGlite.*Move that pgdata folder .* aside .* or point DATA_DIR at another folder/);
    expect(readFileSync(path.join(dataDir, 'pgdata', 'PG_VERSION'), 'utf8')).toBe('18\n');
    expect(existsSync(clusterDir(dataDir))).toBe(false);
  });
});

describe('how the server is run and reached', () => {
  it('listens on loopback with the folder\'s own password when there are no Unix sockets (the Windows way)', async () => {
    const dataDir = tempDir('conveyor-tcp-');
    const server = await startEmbedded(dataDir, { listen: 'tcp' });
    try {
      expect('port' in server.endpoint).toBe(true);
      expect(statSync(path.join(dataDir, 'postgres.password')).mode & 0o777).toBe(0o600);
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      expect((await client.query<{ a: string }>('SHOW listen_addresses')).rows[0]).toEqual({ listen_addresses: '127.0.0.1' });
      await client.end();
      const wrong = new URL(server.url);
      wrong.password = 'not-the-password';
      await expect(new pg.Client({ connectionString: wrong.toString() }).connect()).rejects.toThrow(/password authentication failed/);
    } finally {
      await server.stop();
    }
  });

  it('runs PostgreSQL as an unprivileged account when this process is root (through a user namespace, or as nobody)', async () => {
    const runAs = chooseRunAs();
    if (process.getuid?.() !== 0) {
      expect(runAs.kind).toBe('self');
      return;
    }
    expect(['userns', 'account']).toContain(runAs.kind);
    // The fallback for containers without user namespaces: the account itself, which needs
    // binaries and DATA_DIR it can reach (a world-readable copy here; a checkout under a
    // private folder would not do).
    const open = tempDir('conveyor-account-');
    chmodSync(open, 0o755);
    const binaries = path.join(open, 'native');
    cpSync(pgBinaries().root, binaries, { recursive: true, verbatimSymlinks: true });
    const dataDir = path.join(open, 'data');
    const nobody = { kind: 'account' as const, name: 'nobody', uid: 65534, gid: 65534 };
    const server = await startEmbedded(dataDir, {
      runAs: nobody,
      binaries: { root: binaries, initdb: path.join(binaries, 'bin', 'initdb'), postgres: path.join(binaries, 'bin', 'postgres') },
    });
    try {
      expect(statSync(clusterDir(dataDir)).uid).toBe(65534);
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      expect((await client.query('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });
      await client.end();
    } finally {
      await server.stop();
    }
  });
});

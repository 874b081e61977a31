/**
 * PostgreSQL and Redis modes as a user meets them: a database nobody migrated, a database
 * that is not there, a port in use, `serve` alone running tasks, and a queue no worker consumes.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerDatabase } from '../helpers/database.ts';
import { cli, freePort, startServe } from '../helpers/processes.ts';

const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
let unmigrated: { url: string; drop(): Promise<void> };
let migrated: { url: string; drop(): Promise<void> };
beforeAll(async () => {
  unmigrated = await createServerDatabase();
  migrated = await createServerDatabase();
  const res = await cli(['migrate'], { DATABASE_URL: migrated.url, REDIS_URL: '', LOG_LEVEL: 'silent' });
  expect(res.code, res.stderr).toBe(0);
});
afterAll(async () => {
  await unmigrated?.drop();
  await migrated?.drop();
});

const oneLine = (stderr: string) => {
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
};

describe('a database that conveyor migrate has not prepared', () => {
  for (const [verb, args, input] of [
    ['serve', ['serve', '--port', '0'], ''],
    ['worker', ['worker'], ''],
    ['monitor', ['monitor', '--port', '0'], ''],
    ['createuser', ['createuser', 'someone', '--password-stdin'], 'a long enough password\n'],
    ['createtoken', ['createtoken', 'someone'], ''],
    ['seed', ['seed', '--items', '10'], ''],
  ] as const) {
    it(`${verb} exits 1 with one line naming conveyor migrate`, async () => {
      const res = await cli([...args], { DATABASE_URL: unmigrated.url, REDIS_URL: '', LOG_LEVEL: 'silent' }, input);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/run `conveyor migrate` first/);
      oneLine(res.stderr);
    });
  }
});

describe('failures a user can fix, in one line', () => {
  it('a database server that is not there', async () => {
    const port = await freePort();
    const res = await cli(['createtoken', 'x'], { DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/nothing`, REDIS_URL: '', LOG_LEVEL: 'silent' });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(new RegExp(`cannot use the database 127.0.0.1:${port}/nothing \\(DATABASE_URL\\): .*ECONNREFUSED`));
    oneLine(res.stderr);
  });

  it('a port in use', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const { port } = taken.address() as net.AddressInfo;
    try {
      const res = await cli(['serve', '--port', String(port), '--no-worker'], { DATABASE_URL: migrated.url, REDIS_URL: '', LOG_LEVEL: 'silent' });
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(new RegExp(`cannot listen on 127.0.0.1:${port}: the port is already in use`));
      oneLine(res.stderr);
    } finally {
      taken.close();
    }
  });
});

describe('serve runs a worker in every mode', () => {
  it('runs tasks with nothing but `serve` on PostgreSQL and Redis', async () => {
    const served = await startServe({ DATABASE_URL: migrated.url, REDIS_URL: redisUrl, TASK_PREFIX: `cvt_modes_${process.pid}` });
    try {
      const ready = (await (await fetch(`${served.base}/readyz`)).json()) as { checks: Record<string, { ok: boolean; warning?: string }> };
      expect(ready.checks.broker?.ok).toBe(true);
      const res = await cli(['createuser', 'runner', '--password-stdin'], { DATABASE_URL: migrated.url, LOG_LEVEL: 'silent' }, 'a long enough password\n');
      expect(res.code, res.stderr).toBe(0);
      const token = (await cli(['createtoken', 'runner'], { DATABASE_URL: migrated.url, LOG_LEVEL: 'silent' })).stdout.trim();
      const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      // A task that fails at once (a refused address) still proves a worker took it.
      const sent = await fetch(`${served.base}/api/tasks`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'fetch_data', args: { url: 'http://127.0.0.1:1/' } }) });
      expect(sent.status).toBe(202);
      const { task_id } = (await sent.json()) as { task_id: string };
      let state = 'PENDING';
      for (let i = 0; i < 200 && (state === 'PENDING' || state === 'STARTED'); i++) {
        await new Promise((r) => setTimeout(r, 50));
        state = ((await (await fetch(`${served.base}/api/tasks/${task_id}`, { headers: auth })).json()) as { state: string }).state;
      }
      expect(state).toBe('FAILURE');
      expect(served.output()).toMatch(/"worker":true,"msg":"conveyor is serving"/);
    } finally {
      served.child.kill('SIGTERM');
      expect(await served.exited).toBe(0);
    }
  });

  it('with --no-worker and no worker anywhere: /readyz stays 200 but warns, and serve logs it', async () => {
    const served = await startServe({ DATABASE_URL: migrated.url, REDIS_URL: '' }, ['--no-worker']);
    try {
      // Heartbeats of workers from earlier tests in this database may still be fresh.
      let ready: { status: string; checks: Record<string, { ok: boolean; warning?: string }> } | undefined;
      for (let i = 0; i < 100; i++) {
        const res = await fetch(`${served.base}/readyz`);
        expect(res.status).toBe(200);
        ready = (await res.json()) as typeof ready;
        if (ready?.checks.workers?.warning) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(ready?.status).toBe('ok');
      expect(ready?.checks.workers).toMatchObject({ ok: true, warning: expect.stringMatching(/no worker consumes queue "default"/) });
      for (let i = 0; i < 150 && !/no worker consumes queue/.test(served.output()); i++) await new Promise((r) => setTimeout(r, 100));
      expect(served.output()).toMatch(/"level":40.*no worker consumes queue \\?"default\\?"/);
    } finally {
      served.child.kill('SIGTERM');
      expect(await served.exited).toBe(0);
    }
  });
});

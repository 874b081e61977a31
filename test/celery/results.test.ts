/**
 * The one writer of Celery's result meta (results.ts storeCeleryState), on a real Redis: what
 * the worker's observer writes and what a revocation writes follow Celery's rules, each
 * checked and written in one step, and each write is published once on the key.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultKey } from '../../src/tasks/celery/protocol.ts';
import { revokedException, storeCeleryState } from '../../src/tasks/celery/results.ts';
import { redisUrl } from '../tasks/harness.ts';

let redis: Redis;
let sub: Redis;
const published: { key: string; status: string }[] = [];

beforeAll(async () => {
  redis = new Redis(redisUrl());
  sub = new Redis(redisUrl());
  await sub.psubscribe(resultKey('*'));
  sub.on('pmessage', (_p, key, value) => published.push({ key, status: (JSON.parse(value) as { status: string }).status }));
});
afterAll(async () => {
  await Promise.all([redis?.quit(), sub?.quit()]);
});

const statusOf = async (id: string) => (JSON.parse((await redis.get(resultKey(id)))!) as { status: string; task_id: string; date_done: string | null; result: unknown });
const publishedFor = async (id: string, n: number) => {
  await expect.poll(() => published.filter((p) => p.key === resultKey(id)).length).toBeGreaterThanOrEqual(n);
  await new Promise((r) => setTimeout(r, 50)); // nothing more arrives
  return published.filter((p) => p.key === resultKey(id)).map((p) => p.status);
};

describe('Celery result meta', () => {
  it('stores what Python reads, with a TTL; a stored SUCCESS is never replaced, by a late STARTED or a revocation', async () => {
    const id = randomUUID();
    await storeCeleryState(redis, id, 'STARTED', { pid: 1, hostname: 'conveyor@test' });
    expect((await statusOf(id)).date_done).toBeNull();
    await storeCeleryState(redis, id, 'SUCCESS', { n: 2 });
    await storeCeleryState(redis, id, 'STARTED', { pid: 1, hostname: 'conveyor@test' });
    await storeCeleryState(redis, id, 'REVOKED', revokedException());
    const meta = await statusOf(id);
    expect(meta).toMatchObject({ status: 'SUCCESS', task_id: id, result: { n: 2 } });
    expect(meta.date_done).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/); // naive UTC, microseconds
    expect(await redis.ttl(resultKey(id))).toBeGreaterThan(86_000);
    expect(await publishedFor(id, 2)).toEqual(['STARTED', 'SUCCESS']);
  });

  it('writes REVOKED once: a second revocation, or one after a FAILURE, changes nothing', async () => {
    const revoked = randomUUID();
    await storeCeleryState(redis, revoked, 'REVOKED', revokedException());
    await storeCeleryState(redis, revoked, 'REVOKED', revokedException());
    expect(await statusOf(revoked)).toMatchObject({ status: 'REVOKED', result: { exc_type: 'TaskRevokedError', exc_message: ['revoked'], exc_module: 'celery.exceptions' } });
    expect(await publishedFor(revoked, 1)).toEqual(['REVOKED']);

    const failed = randomUUID();
    await storeCeleryState(redis, failed, 'FAILURE', { exc_type: 'ValueError', exc_message: ['bad'], exc_module: 'builtins' }, 'Traceback');
    await storeCeleryState(redis, failed, 'REVOKED', revokedException());
    expect(await statusOf(failed)).toMatchObject({ status: 'FAILURE' });
    expect(await publishedFor(failed, 1)).toEqual(['FAILURE']);
  });

  it('lets RETRY, STARTED and FAILURE follow one another, as a retried run writes them', async () => {
    const id = randomUUID();
    await storeCeleryState(redis, id, 'RETRY', { exc_type: 'Error', exc_message: ['once'], exc_module: 'conveyor' });
    await storeCeleryState(redis, id, 'STARTED', { pid: 1, hostname: 'conveyor@test' });
    await storeCeleryState(redis, id, 'FAILURE', { exc_type: 'Error', exc_message: ['twice'], exc_module: 'conveyor' });
    expect(await statusOf(id)).toMatchObject({ status: 'FAILURE', result: { exc_message: ['twice'] } });
    expect(await publishedFor(id, 3)).toEqual(['RETRY', 'STARTED', 'FAILURE']);
  });
});

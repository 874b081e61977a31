/** Decoding Celery's envelope, its times and priority lists, and the CELERY_* settings. No servers. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { decodeMessage, parseCeleryTime, parseEnvelope, priorityLists } from '../../src/tasks/celery/inbound.ts';

const envelope = (body: unknown, extra: Record<string, unknown> = {}, headers: Record<string, unknown> = {}) => ({
  body: Buffer.from(JSON.stringify(body)).toString('base64'),
  'content-type': 'application/json',
  'content-encoding': 'utf-8',
  headers: { lang: 'py', task: 'proj.tasks.add', id: '0b8f4a52-3c57-4a8e-9d51-7f1a4f0a9d11', ...headers },
  properties: { body_encoding: 'base64', delivery_tag: 't1', delivery_info: { exchange: '', routing_key: 'conveyor' }, priority: 0 },
  ...extra,
});

describe('Celery protocol', () => {
  it('pops priority 0 of every queue first, as kombu does', () => {
    expect(priorityLists(['a', 'b'])).toEqual(['a', 'b', 'a\x06\x163', 'b\x06\x163', 'a\x06\x166', 'b\x06\x166', 'a\x06\x169', 'b\x06\x169']);
  });

  it('reads Celery times: six-digit fractions, offsets, naive as UTC', () => {
    expect(parseCeleryTime('2026-12-03T18:08:47.287552+00:00')?.toISOString()).toBe('2026-12-03T18:08:47.287Z');
    expect(parseCeleryTime('2026-12-03T19:08:47.5+01:00')?.toISOString()).toBe('2026-12-03T18:08:47.500Z');
    expect(parseCeleryTime('2026-12-03T18:08:47')?.toISOString()).toBe('2026-12-03T18:08:47.000Z');
    expect(parseCeleryTime('tomorrow')).toBeUndefined();
  });

  it('decodes protocol 2: args, kwargs, retries, [hard, soft] time limit, priority', () => {
    const d = decodeMessage(envelope([[2, 3], { c: 1 }, {}], {}, { retries: 2, timelimit: [10, 5], eta: '2026-12-03T18:08:47.287552+00:00' }));
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.message).toMatchObject({ task: 'proj.tasks.add', args: [2, 3], kwargs: { c: 1 }, retries: 2, hardTimeLimit: 10, softTimeLimit: 5, priority: 0 });
  });

  it('refuses pickle, compression, protocol 1 and bad bodies, keeping the id but never the body in the reason', () => {
    const pickle = decodeMessage({ ...envelope([[1], {}, {}]), 'content-type': 'application/x-python-serialize' });
    expect(pickle).toMatchObject({ ok: false, refusal: { id: '0b8f4a52-3c57-4a8e-9d51-7f1a4f0a9d11' } });
    expect(decodeMessage(envelope([[1], {}, {}], {}, { compression: 'application/x-gzip' })).ok).toBe(false);
    const v1 = decodeMessage(envelope({ task: 'proj.tasks.add', id: 'abc', args: ['secret'], kwargs: {} }, {}, { task: undefined, id: undefined }));
    expect(v1).toMatchObject({ ok: false, refusal: { id: 'abc', reason: expect.stringContaining('protocol 1') } });
    expect(JSON.stringify(v1)).not.toContain('secret');
    expect(decodeMessage({ ...envelope(null), body: Buffer.from('{not json').toString('base64') })).toMatchObject({ ok: false, refusal: { reason: 'the body is not JSON' } });
    expect(parseEnvelope('not json')).toBeUndefined();
  });
});

describe('CELERY_* settings', () => {
  it('default the result backend to the broker, the queues to conveyor, and events on', () => {
    expect(loadConfig({ CELERY_BROKER_URL: 'redis://127.0.0.1:6379/1' }).celery).toEqual({ brokerUrl: 'redis://127.0.0.1:6379/1', resultBackendUrl: 'redis://127.0.0.1:6379/1', queues: ['conveyor'], visibilityTimeoutS: 3600, events: true });
    expect(loadConfig({ CELERY_BROKER_URL: 'redis://127.0.0.1:6379/1', CELERY_EVENTS: 'false' }).celery?.events).toBe(false);
    expect(loadConfig({}).celery).toBeUndefined();
  });

  it('stop start-up naming the bad variable', () => {
    expect(() => loadConfig({ CELERY_BROKER_URL: 'amqp://x' })).toThrow(/CELERY_BROKER_URL/);
    expect(() => loadConfig({ CELERY_BROKER_URL: 'redis://x', CELERY_QUEUES: 'a,,b' })).toThrow(/CELERY_QUEUES/);
    expect(() => loadConfig({ CELERY_BROKER_URL: 'redis://x', CELERY_VISIBILITY_TIMEOUT: '0' })).toThrow(/CELERY_VISIBILITY_TIMEOUT/);
    expect(() => loadConfig({ CELERY_RESULT_BACKEND: 'redis://x' })).toThrow(/CELERY_RESULT_BACKEND/);
  });
});

/** Celery's remote-control revoke, as a Conveyor worker reads it (src/tasks/celery/control.ts). */
import { describe, expect, it } from 'vitest';
import { revocationOf, RevokedIds } from '../../src/tasks/celery/control.ts';

const envelope = (body: unknown) =>
  JSON.stringify({ body: Buffer.from(JSON.stringify(body)).toString('base64'), 'content-type': 'application/json', properties: { body_encoding: 'base64' } });

describe('Celery revoke broadcasts', () => {
  it('reads one id or a list, and terminate; ignores other methods and garbage', () => {
    expect(revocationOf(envelope({ method: 'revoke', arguments: { task_id: 'a', terminate: false, signal: 'SIGTERM' } }))).toEqual({ ids: ['a'], terminate: false });
    expect(revocationOf(envelope({ method: 'revoke', arguments: { task_id: ['a', 'b'], terminate: true } }))).toEqual({ ids: ['a', 'b'], terminate: true });
    expect(revocationOf(envelope({ method: 'ping', arguments: {} }))).toBeUndefined();
    expect(revocationOf(envelope({ method: 'revoke', arguments: { task_id: 7 } }))).toBeUndefined();
    expect(revocationOf('not json')).toBeUndefined();
  });

  it('remembers ids as Celery workers do: bounded, oldest out first, for a while', () => {
    const ids = new RevokedIds(2, 60_000);
    ids.add('a');
    ids.add('b');
    ids.add('c');
    expect([ids.has('a'), ids.has('b'), ids.has('c')]).toEqual([false, true, true]);
    const brief = new RevokedIds(10, -1);
    brief.add('x');
    expect(brief.has('x')).toBe(false);
  });
});

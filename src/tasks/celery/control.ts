/**
 * Celery's remote control, as far as the tasks Conveyor runs need it: `revoke`.
 *
 * Python's `AsyncResult(id).revoke()` and `app.control.revoke(ids, terminate=…)` broadcast on
 * the pidbox (`PUBLISH /<db>.celery.pidbox`, a kombu fanout; celery-wire.md); every worker
 * remembers the revoked ids (Celery: the last 50,000, for 3 hours) and discards a message of
 * one when it arrives, and `terminate=True` also stops one that is running. A Conveyor worker
 * that consumes Celery messages listens the same way (celery/consumer.ts acts on what it hears).
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redisDb } from './publish.ts';

/** What Celery workers keep of revocations (celery.worker.state: REVOKES_MAX, REVOKE_EXPIRES). */
export const REVOKES_MAX = 50_000;
export const REVOKE_EXPIRES_MS = 10_800_000;

export interface Revocation {
  readonly ids: readonly string[];
  /** `terminate=True`: a running task is stopped too; otherwise only one that has not started. */
  readonly terminate: boolean;
}

/** The ids a broadcast `revoke` names (`task_id`: one id or a list), or undefined for anything else. */
export function revocationOf(raw: string): Revocation | undefined {
  try {
    const envelope = JSON.parse(raw) as { body?: unknown; properties?: { body_encoding?: unknown } };
    if (typeof envelope.body !== 'string') return undefined;
    const text = envelope.properties?.body_encoding === 'base64' ? Buffer.from(envelope.body, 'base64').toString('utf8') : envelope.body;
    const body = JSON.parse(text) as { method?: unknown; arguments?: { task_id?: unknown; terminate?: unknown } };
    if (body.method !== 'revoke' || !body.arguments) return undefined;
    const given = body.arguments.task_id;
    const ids = (Array.isArray(given) ? given : [given]).filter((id): id is string => typeof id === 'string' && id.length > 0);
    return ids.length ? { ids, terminate: body.arguments.terminate === true } : undefined;
  } catch {
    return undefined;
  }
}

/** Revoked ids, as a Celery worker remembers them: bounded, each for REVOKE_EXPIRES_MS. */
export class RevokedIds {
  private readonly at = new Map<string, number>();
  private readonly max: number;
  private readonly forMs: number;
  constructor(max = REVOKES_MAX, forMs = REVOKE_EXPIRES_MS) {
    this.max = max;
    this.forMs = forMs;
  }
  add(id: string): void {
    this.at.delete(id);
    this.at.set(id, Date.now());
    while (this.at.size > this.max) this.at.delete(this.at.keys().next().value!);
  }
  has(id: string): boolean {
    const t = this.at.get(id);
    if (t === undefined) return false;
    if (Date.now() - t <= this.forMs) return true;
    this.at.delete(id);
    return false;
  }
}

/** Subscribe to the broker's pidbox; `onRevoke` hears every broadcast revoke. */
export async function listenForRevokes(brokerUrl: string, logger: Logger, onRevoke: (r: Revocation) => void): Promise<{ close(): Promise<void> }> {
  const sub = new Redis(brokerUrl, { maxRetriesPerRequest: null, connectionName: 'conveyor-celery-control' });
  sub.on('error', () => undefined); // ioredis reconnects and subscribes again
  const channel = `/${redisDb(brokerUrl)}.celery.pidbox`;
  sub.on('message', (ch: string, raw: string) => {
    if (ch !== channel) return;
    const r = revocationOf(raw);
    if (!r) return;
    try {
      onRevoke(r);
    } catch (err) {
      logger.warn({ err }, 'could not act on a Celery revoke');
    }
  });
  await sub.subscribe(channel);
  return {
    async close() {
      await sub.quit().catch(() => sub.disconnect());
    },
  };
}

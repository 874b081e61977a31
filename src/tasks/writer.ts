/**
 * The task table's per-task writes, group-committed (lib/batch.ts): a process starting,
 * finishing or creating many tasks at once writes them in a few statements. Each call
 * resolves once its row is committed, so a worker never tells the broker a task is done
 * before the table says so.
 */
import type pg from 'pg';
import { batched } from '../lib/batch.ts';
import { claimTasks, gateTasks, insertTasks, markWaiting, recordOutcomes, type Cancelled, type Claim, type GateVerdict, type NewTask, type Outcome, type Waiting } from './records.ts';

export interface TaskWriter {
  /** Why a task waits (a limit); best effort, for the dashboard. */
  waiting(w: Waiting): Promise<void>;
  insert(row: NewTask): Promise<void>;
  /** Whether a delivered task may run (see records.gateTasks). */
  gate(id: string): Promise<GateVerdict>;
  /** Mark a task STARTED; false if it finished or was revoked meanwhile (see records.claimTasks). */
  claim(claim: Claim): Promise<boolean>;
  outcome(outcome: Outcome): Promise<void>;
  /** Resolves once every write submitted so far has settled. */
  drain(): Promise<void>;
}

/**
 * Rows per statement: large enough to carry a burst, small enough to keep each one quick. One
 * statement of each kind is in flight at a time, and the calls made meanwhile go in the next:
 * with two in flight the statements carried fewer rows (end to end on Redis: inserts 14
 * against 24, gates 7 against 10, outcomes 9 against 16) and PostgreSQL spent 33-54 µs more
 * per task (bench `tasks`).
 */
const MAX_ROWS = 200;

/**
 * `claimPool`: where gates are read and claims written, when that is another pool. A worker gives one whose
 * sessions commit without waiting for the WAL flush (`synchronous_commit = off`): a claim lost
 * to a database crash only leaves the row at PENDING while its run goes on, and the run's
 * outcome — written durably — still lands. That saves a disk flush on every task's start.
 */
export function taskWriter(pool: pg.Pool, claimPool: pg.Pool = pool, onCancelled: (steps: Cancelled[]) => void = () => undefined): TaskWriter {
  const insert = batched<NewTask, void>(async (rows) => {
    await insertTasks(pool, rows);
    return rows.map(() => undefined);
  }, { maxItems: MAX_ROWS });
  const gate = batched<string, GateVerdict>((ids) => gateTasks(claimPool, ids), { maxItems: MAX_ROWS });
  const claim = batched<Claim, boolean>((claims) => claimTasks(claimPool, claims), { maxItems: MAX_ROWS });
  const outcome = batched<Outcome, void>(async (outcomes) => {
    const cancelled = await recordOutcomes(pool, outcomes);
    if (cancelled.length) onCancelled(cancelled);
    return outcomes.map(() => undefined);
  }, { maxItems: MAX_ROWS });
  const waiting = batched<Waiting, void>(async (items) => {
    await markWaiting(claimPool, items);
    return items.map(() => undefined);
  }, { maxItems: MAX_ROWS });
  return {
    waiting,
    insert,
    gate,
    claim,
    outcome,
    drain: async () => void (await Promise.all([insert.drain(), gate.drain(), claim.drain(), outcome.drain(), waiting.drain()])),
  };
}

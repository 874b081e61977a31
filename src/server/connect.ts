/**
 * `conveyor/client`: Conveyor from a process of your own — a script, a cron job, another
 * service — wired by the same composition root as `serve` and the CLI, from the same
 * configuration (environment and `.env`): the task client and the database, so a task can be
 * enqueued inside your own transaction.
 *
 * ```ts
 * import { connect } from 'conveyor/client';
 * import { sendInvoice } from './tasks/billing.ts';
 *
 * const conveyor = await connect();
 * await conveyor.db.transaction(async (tx) => {
 *   await tx.execute(sql`UPDATE app.orders SET paid = true WHERE id = ${orderId}`);
 *   await conveyor.tasks.delay(sendInvoice, { orderId }, { tx }); // exists only if this commits
 * });
 * await conveyor.close();
 * ```
 */
import type { Db } from '../db/client.ts';
import type { TaskClient } from '../tasks/task-client.ts';
import { bootstrap, buildRuntime } from './runtime.ts';

export interface Conveyor {
  /** Enqueue, inspect, revoke; workflows. Knows the built-in tasks, TASK_MODULES' and `include`'s. */
  readonly tasks: TaskClient;
  /** Conveyor's database (Drizzle): `db.transaction(async (tx) => …)` for transactional enqueue. */
  readonly db: Db;
  /** Close the connections (the broker's, then the database's). */
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Task modules to register besides TASK_MODULES (to enqueue them by definition). */
  readonly include?: readonly string[];
  /** The name in this process's logs. Default `client`. */
  readonly name?: string;
}

export async function connect(opts: ConnectOptions = {}): Promise<Conveyor> {
  const rt = await buildRuntime('client', bootstrap(opts.name ?? 'client'), opts.include ? { include: opts.include } : {});
  let closed: Promise<void> | undefined;
  return {
    tasks: rt.tasks!,
    db: rt.data.database.db,
    close() {
      closed ??= (async () => {
        for (const step of rt.steps()) await step.run();
      })();
      return closed;
    },
  };
}

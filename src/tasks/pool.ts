/**
 * Sandboxed pools (`conveyor worker --pool threads|process`): handlers run in worker
 * threads or child processes through BullMQ's own child runtime and protocol (its `Child`,
 * `ChildPool` and commands, with the composition root's processor file), driven by
 * this module, which adds what BullMQ's sandbox lacks:
 *
 * - recycling: a child is retired after `maxTasksPerChild` runs (Celery's
 *   `--max-tasks-per-child`, Django Q's `recycle`), so a leaking handler cannot grow forever;
 * - a hard stop: a run that is revoked, times out or is cut by shutdown is aborted in the
 *   child through its signal, and a child that has not settled `killGraceMs` later (a
 *   CPU-bound handler never looks at its signal) is killed and replaced, like Celery's
 *   hard time limit and `revoke(terminate=True)`.
 *
 * The BullMQ worker itself sees an ordinary processor function, so revocation, timeouts
 * and shutdown work the same way for every pool (see execute.ts).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChildCommand, ChildPool, ParentCommand, type Child } from 'bullmq';
import type { TaskJob } from './backend.ts';
import { TaskTimeoutError } from './define.ts';

export type SandboxKind = 'threads' | 'process';

/** What a child is told when its run is aborted (IPC carries strings, not Error objects). */
export type AbortCode = 'timeout' | 'revoked' | 'shutdown';

export interface SandboxPoolOptions {
  readonly kind: SandboxKind;
  /**
   * The module children load: its default export runs a job (the composition root's, which
   * registers the same tasks as the worker).
   */
  readonly processorFile: string;
  /** Environment of the children (TASK_MODULES tells them which tasks to load). */
  readonly env: NodeJS.ProcessEnv;
  /** Retire a child after this many runs. Default: never. */
  readonly maxTasksPerChild?: number;
  /** How long an aborted run may take to settle before its child is killed. Default 1000 ms. */
  readonly killGraceMs?: number;
}

export interface SandboxPool {
  /**
   * Run one job in a child. When `signal` aborts, the child's handler is aborted too and the
   * child is killed if it has not settled within the grace period (the caller races the signal).
   */
  run(job: TaskJob, token: string | undefined, signal: AbortSignal): Promise<unknown>;
  /** Kill every child; runs still going are lost to their BullMQ lock (they run again). */
  close(): Promise<void>;
}

const bullDir = path.dirname(fileURLToPath(import.meta.resolve('bullmq')));

/** The messages a child sends (BullMQ's child runtime, src/tasks/sandbox.ts inside). */
interface ChildMessage {
  readonly cmd: ParentCommand;
  readonly value?: unknown;
  readonly err?: unknown;
}

export function createSandboxPool(opts: SandboxPoolOptions): SandboxPool {
  const threads = opts.kind === 'threads';
  const pool = new ChildPool({
    mainFile: path.join(bullDir, 'classes', threads ? 'main-worker.js' : 'main.js'),
    useWorkerThreads: threads,
    workerForkOptions: { env: opts.env },
    workerThreadsOptions: { env: opts.env },
  });
  const graceMs = opts.killGraceMs ?? 1_000;
  const uses = new WeakMap<Child, number>();

  const alive = (c: Child) => c.exitCode === null && c.signalCode === null;

  /** Back to the pool, or retired once it has run maxTasksPerChild tasks. */
  function release(child: Child): void {
    if (!alive(child)) return;
    const n = (uses.get(child) ?? 0) + 1;
    uses.set(child, n);
    if (opts.maxTasksPerChild !== undefined && n >= opts.maxTasksPerChild) {
      // Retired between runs: SIGTERM (a Stop message for a thread) lets it exit cleanly.
      void pool.kill(child, 'SIGTERM').catch(() => undefined);
      return;
    }
    pool.release(child);
  }

  return {
    async run(job, token, signal) {
      const child = await pool.retain(opts.processorFile);
      let killTimer: NodeJS.Timeout | undefined;
      let onExit: ((code: number | null, sig: string | null) => void) | undefined;
      let onMessage: ((msg: ChildMessage) => void) | undefined;
      const onAbort = () => {
        const code: AbortCode = abortCode(signal.reason);
        void child.send({ cmd: ChildCommand.Cancel, value: code }).catch(() => undefined);
        killTimer = setTimeout(() => void pool.kill(child, 'SIGKILL').catch(() => undefined), graceMs);
      };
      try {
        return await new Promise<unknown>((resolve, reject) => {
          onExit = (code, sig) => reject(new Error(`sandboxed child exited (code ${code}, signal ${sig})`));
          onMessage = (msg) => {
            switch (msg.cmd) {
              case ParentCommand.Completed:
                return resolve(msg.value);
              case ParentCommand.Failed:
              case ParentCommand.Error:
                return reject(Object.assign(new Error(), msg.value ?? msg.err));
              case ParentCommand.Progress:
                return void job.updateProgress(msg.value as number | object).catch(() => undefined);
              case ParentCommand.Log:
                return void job.log(String(msg.value)).catch(() => undefined);
            }
          };
          child.on('exit', onExit);
          child.on('message', onMessage);
          child.send({ cmd: ChildCommand.Start, job: job.asJSONSandbox(), token }).catch(reject);
          if (signal.aborted) onAbort();
          else signal.addEventListener('abort', onAbort, { once: true });
        });
      } finally {
        // Until here the child was ours to kill; from now on it may run someone else's task.
        clearTimeout(killTimer);
        signal.removeEventListener('abort', onAbort);
        if (onExit) child.off('exit', onExit);
        if (onMessage) child.off('message', onMessage);
        release(child);
      }
    },
    async close() {
      // Children still retained are running something that outlived the grace period.
      await Promise.allSettled(Object.values(pool.retained).map((c) => pool.kill(c, 'SIGKILL')));
      await pool.clean();
    },
  };
}

function abortCode(reason: unknown): AbortCode {
  if (reason instanceof TaskTimeoutError) return 'timeout';
  if (reason instanceof Error && reason.name === 'WorkerShutdownError') return 'shutdown';
  return 'revoked';
}

/**
 * Ordered shutdown on SIGTERM/SIGINT: run each step in turn (stop accepting, drain,
 * close workers, queues, then the database) within a grace period; a second signal
 * or the end of the grace period forces the exit.
 */
import type { Logger } from 'pino';

export interface ShutdownStep {
  readonly name: string;
  run(): Promise<unknown>;
}

export function handleSignals(steps: () => readonly ShutdownStep[], opts: { graceMs: number; logger: Logger }): void {
  let shuttingDown = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      opts.logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    shuttingDown = true;
    opts.logger.info({ signal, graceMs: opts.graceMs }, 'shutting down');
    const force = setTimeout(() => {
      opts.logger.error('grace period over: exiting with work unfinished');
      process.exit(1);
    }, opts.graceMs + 5_000);
    force.unref();
    void runSteps(steps(), opts.logger).then((ok) => process.exit(ok ? 0 : 1));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

export async function runSteps(steps: readonly ShutdownStep[], logger: Logger): Promise<boolean> {
  let ok = true;
  for (const step of steps) {
    const started = performance.now();
    try {
      await step.run();
      logger.info({ step: step.name, ms: Math.round(performance.now() - started) }, 'stopped');
    } catch (err) {
      ok = false;
      logger.error({ err, step: step.name }, 'shutdown step failed');
    }
  }
  return ok;
}

/**
 * Close an HTTP server gracefully: stop accepting, let in-flight requests finish, and
 * close each keep-alive connection as soon as it goes idle. (`server.close()` closes the
 * connections idle at that moment only; one busy then would otherwise stay open until
 * the client's keep-alive ends.)
 */
export async function closeHttp(app: { close(): Promise<unknown>; server: { closeIdleConnections(): void } }): Promise<void> {
  const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
  try {
    await app.close();
  } finally {
    clearInterval(sweep);
  }
}

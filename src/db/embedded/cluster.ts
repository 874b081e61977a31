/**
 * One PostgreSQL cluster in a data folder: made once with initdb, started as a child process
 * that listens only where this process says (a private Unix socket, or loopback with a
 * password), stopped with a fast shutdown. A server left running by a killed owner is found
 * through postmaster.pid and shut down before a new one starts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { PgBinaries } from './binaries.ts';
import { EmbeddedDatabaseError } from './errors.ts';
import { isAlive, isServerOf, readPostmasterPid } from './postmaster-pid.ts';
import { describeRunAs, handOver, launch, type RunAs } from './run-as.ts';

/** Where the server listens: a Unix socket in a private folder, or loopback TCP with a password. */
export type Listen =
  | { readonly kind: 'socket'; readonly dir: string }
  | { readonly kind: 'tcp'; readonly port: number; readonly passwordFile: string };

/** The socket file is `.s.PGSQL.<port>`; no TCP port is opened in socket mode. */
export const SOCKET_PORT = 5432;

export interface ClusterOptions {
  readonly binaries: PgBinaries;
  readonly pgdata: string;
  readonly runAs: RunAs;
  readonly logger?: Pick<Logger, 'info' | 'warn'>;
}

/** Run one of PostgreSQL's programs to completion; its output is kept for the error message. */
function run(opts: ClusterOptions, file: string, args: string[]): Promise<void> {
  const how = launch(opts.runAs, file, args);
  return new Promise((resolve, reject) => {
    const child = spawn(how.file, how.args, { ...how.options, stdio: ['ignore', 'pipe', 'pipe'], env: pgEnv() });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (err) => reject(new EmbeddedDatabaseError(`cannot run ${path.basename(file)}: ${err.message}`)));
    child.on('exit', (code, signal) => {
      if (code === 0) return resolve();
      reject(new EmbeddedDatabaseError(`${path.basename(file)} failed (${signal ?? `exit ${code}`}) running as ${describeRunAs(opts.runAs)}: ${lastLines(output)}`));
    });
  });
}

/** PostgreSQL's messages in English whatever the machine's locale, so errors read the same everywhere. */
function pgEnv(): NodeJS.ProcessEnv {
  return { ...process.env, LC_ALL: 'C', LANG: 'C' };
}

const lastLines = (text: string) => text.trim().split('\n').slice(-4).join(' | ') || 'no output';

/**
 * initdb into a scratch folder, renamed into place when complete: an initdb interrupted by a
 * kill leaves only the scratch folder, which the next attempt removes.
 */
export async function initCluster(opts: ClusterOptions & { readonly listen: Listen }): Promise<void> {
  const scratch = `${opts.pgdata}.initdb`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { mode: 0o700 });
  handOver(opts.runAs, scratch);
  const auth =
    opts.listen.kind === 'socket'
      ? ['--auth-local=trust', '--auth-host=reject']
      : ['--auth-local=reject', '--auth-host=scram-sha-256', `--pwfile=${opts.listen.passwordFile}`];
  await run(opts, opts.binaries.initdb, [
    '-D', scratch, '-U', 'postgres', '-E', 'UTF8',
    // The builtin provider: the same collation and case rules on every platform, no OS locale needed.
    '--locale-provider=builtin', '--builtin-locale=C.UTF-8', '--locale=C',
    ...auth,
    // serve with several HTTP processes plus workers: each holds a pool.
    '-c', 'max_connections=300',
  ]);
  renameSync(scratch, opts.pgdata);
}

export interface Postmaster {
  readonly pid: number;
  /** Fast shutdown (sessions ended, a checkpoint written); resolves when the server has exited. */
  stop(): Promise<void>;
}

function serverArgs(opts: ClusterOptions & { readonly listen: Listen }): string[] {
  const { listen } = opts;
  const where =
    listen.kind === 'socket'
      ? ['-p', String(SOCKET_PORT), '-c', 'listen_addresses=', '-c', `unix_socket_directories=${listen.dir}`, '-c', 'unix_socket_permissions=0700']
      : ['-p', String(listen.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];
  return [
    '-D', opts.pgdata,
    ...where,
    // The server's own log, rotated weekly in pgdata/log; stderr is read only until it starts.
    '-c', 'logging_collector=on', '-c', 'log_directory=log', '-c', 'log_filename=postgresql-%a.log',
    '-c', 'log_truncate_on_rotation=on', '-c', 'log_rotation_age=1d', '-c', 'log_rotation_size=0',
  ];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A deadline that does not keep the process alive once what it guards has settled. */
const deadline = (ms: number) => new Promise<'late'>((r) => setTimeout(() => r('late'), ms).unref());

/** How long a start may take before it is given up (crash recovery replays the WAL first). */
const START_TIMEOUT_MS = 120_000;
/** How long a fast shutdown may take before an immediate one. */
const STOP_TIMEOUT_MS = 30_000;

export async function startServer(opts: ClusterOptions & { readonly listen: Listen }): Promise<Postmaster> {
  const how = launch(opts.runAs, opts.binaries.postgres, serverArgs(opts));
  // Its own process group: a Ctrl-C in the terminal reaches Conveyor, which drains HTTP first
  // and then stops the database, instead of the database going away under running requests.
  const child = spawn(how.file, how.args, { ...how.options, detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: pgEnv() });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4_000)));
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  let exited = false;
  void exit.then(() => (exited = true));
  const started = Date.now();
  let nextNote = started + 5_000;
  for (;;) {
    if (exited) {
      const { code, signal } = await exit;
      throw new EmbeddedDatabaseError(
        `PostgreSQL did not start (${signal ?? `exit ${code}`}), running as ${describeRunAs(opts.runAs)}: ${lastLines(stderr)} (its log: ${path.join(opts.pgdata, 'log')})`,
      );
    }
    const pidFile = readPostmasterPid(opts.pgdata);
    if (pidFile && pidFile.pid === child.pid && pidFile.status === 'ready') break;
    if (Date.now() > started + START_TIMEOUT_MS) {
      child.kill('SIGQUIT');
      throw new EmbeddedDatabaseError(`PostgreSQL did not become ready within ${START_TIMEOUT_MS / 1000} s (its log: ${path.join(opts.pgdata, 'log')})`);
    }
    if (Date.now() > nextNote) {
      opts.logger?.info({ pgdata: opts.pgdata }, 'still waiting for the embedded PostgreSQL to start (recovering after a crash?)');
      nextNote += 5_000;
    }
    await sleep(10);
  }
  // The server's life is not tied to this event loop: stop() ends it, and if this process is
  // killed the next start finds it (stopOrphan).
  child.unref();
  child.stderr!.destroy();
  return { pid: child.pid!, stop: once(() => stopChild(child, exit, () => exited)) };
}

function once(f: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined;
  return () => (p ??= f());
}

async function stopChild(child: ChildProcess, exit: Promise<unknown>, isExited: () => boolean): Promise<void> {
  if (isExited()) return;
  child.ref(); // until it has exited: nothing else may be keeping this process alive
  child.kill('SIGINT'); // PostgreSQL's fast shutdown
  if ((await Promise.race([exit, deadline(STOP_TIMEOUT_MS)])) !== 'late') return;
  child.kill('SIGQUIT'); // immediate shutdown: crash recovery at the next start, committed data kept
  await Promise.race([exit, deadline(5_000)]);
}

/**
 * A server still running on `pgdata` whose owner is gone (the caller holds the DATA_DIR lock,
 * so its previous holder has exited): shut it down — a fast shutdown, so every committed
 * write is kept — and wait until it has gone. Returns whether there was one.
 */
export async function stopOrphan(pgdata: string, logger?: Pick<Logger, 'warn'>): Promise<boolean> {
  const found = readPostmasterPid(pgdata);
  if (!found || !isAlive(found.pid)) return false;
  if (!isServerOf(found.pid, pgdata)) {
    // The pid was reused by an unrelated process (after a reboot, in a container): the lock
    // file is stale, and PostgreSQL would refuse to start while it names a live process.
    rmSync(path.join(pgdata, 'postmaster.pid'), { force: true });
    return false;
  }
  logger?.warn({ pid: found.pid }, 'the embedded PostgreSQL of a Conveyor process that did not shut down (killed?) is still running: stopping it first');
  for (const [signal, waitMs] of [['SIGINT', STOP_TIMEOUT_MS], ['SIGQUIT', 10_000]] as const) {
    try {
      process.kill(found.pid, signal);
    } catch {
      return true; // gone already
    }
    for (const until = Date.now() + waitMs; Date.now() < until; ) {
      if (!isAlive(found.pid)) return true;
      await sleep(20);
    }
  }
  throw new EmbeddedDatabaseError(`the PostgreSQL server left running on ${pgdata} (pid ${found.pid}) does not stop: stop it, then start Conveyor again`);
}

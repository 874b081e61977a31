/**
 * `postmaster.pid`, PostgreSQL's own lock file in its data folder: who runs the cluster and
 * whether it is ready. Used to wait for a start, and to find a server left running by a
 * Conveyor process that was killed (the server is its child, so `kill -9` leaves it behind).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface PostmasterPid {
  readonly pid: number;
  /** `starting`, `ready`, `stopping` or `standby` (PostgreSQL's PM_STATUS line). */
  readonly status: string;
}

export function readPostmasterPid(pgdata: string): PostmasterPid | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return { pid, status: (lines[7] ?? '').trim() };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether process `pid` is a PostgreSQL server of `pgdata`. When that cannot be told, the
 * answer is yes: a second server on one data folder would corrupt it, a wrong "yes" only
 * delays the start.
 */
export function isServerOf(pid: number, pgdata: string): boolean {
  let command: string;
  try {
    command =
      process.platform === 'linux'
        ? readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
        : execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8', timeout: 5_000 });
  } catch {
    return isAlive(pid);
  }
  return command.includes('postgres') && command.includes(pgdata);
}

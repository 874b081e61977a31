/**
 * One process owns an embedded data folder. The lock file records who and where its
 * database socket is, so other CLI verbs can connect through the running `serve`.
 */
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';

export interface LockInfo {
  pid: number;
  /** Directory holding the PostgreSQL socket `.s.PGSQL.5432`. */
  socketDir: string;
  command: string;
  startedAt: string;
}

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
  readonly dataDir: string;
  readonly holder: LockInfo;
  constructor(dataDir: string, holder: LockInfo) {
    super(
      `${dataDir} is in use by process ${holder.pid} (conveyor ${holder.command}, started ${holder.startedAt}). ` +
        'Stop that process, or point DATA_DIR at another folder.',
    );
    this.dataDir = dataDir;
    this.holder = holder;
  }
}

const lockPath = (dataDir: string) => path.join(dataDir, 'conveyor.lock');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live holder of the folder's lock, or null when it is free (a stale lock from a killed process counts as free). */
export function readLock(dataDir: string): LockInfo | null {
  try {
    const info = JSON.parse(readFileSync(lockPath(dataDir), 'utf8')) as LockInfo;
    return alive(info.pid) ? info : null;
  } catch {
    return null;
  }
}

/** Take the folder's lock or throw DataDirLockedError. Returns a release function. */
export function acquireLock(dataDir: string, info: Omit<LockInfo, 'pid' | 'startedAt'>): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = lockPath(dataDir);
  const record: LockInfo = { pid: process.pid, startedAt: new Date().toISOString(), ...info };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify(record));
      closeSync(fd);
      return () => {
        const current = readLock(dataDir);
        if (current?.pid === process.pid) rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readLock(dataDir);
      if (holder && holder.pid !== process.pid) throw new DataDirLockedError(dataDir, holder);
      rmSync(file, { force: true }); // stale: its process is gone (kill -9, crash)
    }
  }
  throw new Error(`could not take the lock ${file}`);
}

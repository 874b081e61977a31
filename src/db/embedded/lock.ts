/**
 * One process owns an embedded data folder. The lock file records who, and where its
 * database listens once it has started, so other CLI verbs can connect to it.
 */
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ExpectedError } from '../../lib/errors.ts';
import type { Endpoint } from './index.ts';
import { isAlive } from './postmaster-pid.ts';

export interface LockInfo {
  pid: number;
  command: string;
  startedAt: string;
  /** Set once the owner's database server is ready. */
  endpoint?: Endpoint;
}

export class DataDirLockedError extends ExpectedError {
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

/** The live holder of the folder's lock, or null when it is free (a stale lock from a killed process counts as free). */
export function readLock(dataDir: string): LockInfo | null {
  try {
    const info = JSON.parse(readFileSync(lockPath(dataDir), 'utf8')) as LockInfo;
    return isAlive(info.pid) ? info : null;
  } catch {
    return null;
  }
}

export interface HeldLock {
  /** Record where the database listens, for the processes that connect to it. */
  publish(endpoint: Endpoint): void;
  release(): void;
}

/** Take the folder's lock or throw DataDirLockedError. */
export function acquireLock(dataDir: string, info: Pick<LockInfo, 'command'>): HeldLock {
  mkdirSync(dataDir, { recursive: true });
  const file = lockPath(dataDir);
  const record: LockInfo = { pid: process.pid, startedAt: new Date().toISOString(), ...info };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify(record));
      closeSync(fd);
      return {
        publish(endpoint) {
          // Replaced whole, so a reader never sees half a record.
          const tmp = `${file}.${process.pid}`;
          writeFileSync(tmp, JSON.stringify({ ...record, endpoint }), { mode: 0o600 });
          renameSync(tmp, file);
        },
        release() {
          if (readLock(dataDir)?.pid === process.pid) rmSync(file, { force: true });
        },
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

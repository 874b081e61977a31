/**
 * Who the embedded PostgreSQL runs as. PostgreSQL refuses to run as root, and CI machines and
 * containers often run Conveyor as root. Without touching the host (no new account, no
 * permission changes outside DATA_DIR):
 * - not root: as this user, nothing to do;
 * - root, with user namespaces (Linux): inside a new user namespace where it is the
 *   unprivileged `nobody`, mapped back to root outside. PostgreSQL sees a normal user; its
 *   files stay root's, in root's folders;
 * - root without them (a container that forbids unshare): as the account `nobody` itself. Its
 *   own folders in DATA_DIR are handed to that account, and the binaries and DATA_DIR must be
 *   reachable by it.
 */
import { spawnSync, type SpawnOptions } from 'node:child_process';
import { chownSync, readFileSync } from 'node:fs';

export type RunAs =
  | { readonly kind: 'self' }
  | { readonly kind: 'userns'; readonly uid: number; readonly gid: number }
  | { readonly kind: 'account'; readonly name: string; readonly uid: number; readonly gid: number };

export interface Launch {
  readonly file: string;
  readonly args: string[];
  readonly options: Pick<SpawnOptions, 'uid' | 'gid'>;
}

/** The unprivileged account from /etc/passwd (Linux, macOS), or the usual 65534. */
function nobody(): { name: string; uid: number; gid: number } {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , uid, gid] = line.split(':');
      if (name === 'nobody' && uid && gid) return { name, uid: Number(uid), gid: Number(gid) };
    }
  } catch {
    /* no passwd file: the default below */
  }
  return { name: 'nobody', uid: 65534, gid: 65534 };
}

function usernsWorks(uid: number, gid: number): boolean {
  if (process.platform !== 'linux') return false;
  const probe = spawnSync('unshare', ['--user', `--map-user=${uid}`, `--map-group=${gid}`, 'true'], { stdio: 'ignore', timeout: 5_000 });
  return probe.status === 0;
}

let chosen: RunAs | undefined;

export function chooseRunAs(): RunAs {
  if (chosen) return chosen;
  if (process.platform === 'win32' || process.getuid?.() !== 0) return (chosen = { kind: 'self' });
  const account = nobody();
  chosen = usernsWorks(account.uid, account.gid) ? { kind: 'userns', uid: account.uid, gid: account.gid } : { kind: 'account', ...account };
  return chosen;
}

/** How to start one of PostgreSQL's programs as `runAs`. */
export function launch(runAs: RunAs, file: string, args: string[]): Launch {
  switch (runAs.kind) {
    case 'self':
      return { file, args, options: {} };
    case 'userns':
      // unshare execs the program (no fork): the child's pid is PostgreSQL's own.
      return { file: 'unshare', args: ['--user', `--map-user=${runAs.uid}`, `--map-group=${runAs.gid}`, '--', file, ...args], options: {} };
    case 'account':
      return { file, args, options: { uid: runAs.uid, gid: runAs.gid } };
  }
}

/** Hand folders of our own to the account PostgreSQL runs as (only when that is another account). */
export function handOver(runAs: RunAs, ...folders: string[]): void {
  if (runAs.kind !== 'account') return;
  for (const f of folders) chownSync(f, runAs.uid, runAs.gid);
}

/** For messages: who PostgreSQL runs as. */
export function describeRunAs(runAs: RunAs): string {
  switch (runAs.kind) {
    case 'self':
      return 'this user';
    case 'userns':
      return 'an unprivileged user in a user namespace (this process runs as root)';
    case 'account':
      return `the account ${runAs.name} (this process runs as root and user namespaces are not available)`;
  }
}

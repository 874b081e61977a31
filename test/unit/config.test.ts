import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, EnvSchema, loadConfig } from '../../src/config/index.ts';

describe('config', () => {
  it('has the documented defaults and selects embedded mode without DATABASE_URL', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ HOST: '127.0.0.1', PORT: 8000, LOG_LEVEL: 'info', DEBUG: false, BODY_LIMIT: 1024 * 1024, FETCH_TIMEOUT_MS: 10_000, FETCH_ALLOW_PRIVATE: false, mode: 'embedded' });
    expect(path.isAbsolute(c.dataDir)).toBe(true);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('converts strings and picks postgres and redis modes', () => {
    expect(loadConfig({ PORT: '9000', DEBUG: 'true', DATABASE_URL: 'postgresql://x@h/db' })).toMatchObject({ PORT: 9000, DEBUG: true, mode: 'postgres' });
    expect(loadConfig({ DATABASE_URL: 'postgres://x@h/db', REDIS_URL: 'redis://h:6379' }).mode).toBe('redis');
    expect(loadConfig({ FETCH_ALLOWED_HOSTS: ' A.example , b.example,' }).fetchAllowedHosts).toEqual([
      { host: 'a.example', port: undefined },
      { host: 'b.example', port: undefined },
    ]);
  });

  it('reads FETCH_ALLOWED_HOSTS entries as host or host:port, IPv6 in brackets, spelled as URLs spell them', () => {
    expect(loadConfig({ FETCH_ALLOWED_HOSTS: '127.0.0.1:9100,[::1]:9200,[::1],Api.Example:443,127.1' }).fetchAllowedHosts).toEqual([
      { host: '127.0.0.1', port: 9100 },
      { host: '::1', port: 9200 },
      { host: '::1', port: undefined },
      { host: 'api.example', port: 443 },
      { host: '127.0.0.1', port: undefined },
    ]);
  });

  it.each(['127.0.0.1:', '127.0.0.1:0', '127.0.0.1:65536', '127.0.0.1:http', '::1:9100', 'a/b', 'user@host', 'http://host', '[::1]x', '[nope]:1'])(
    'stops at start on the malformed FETCH_ALLOWED_HOSTS entry %s, naming the variable',
    (entry) => {
      let err: unknown;
      try {
        loadConfig({ FETCH_ALLOWED_HOSTS: `ok.example,${entry}` });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain('FETCH_ALLOWED_HOSTS');
      expect((err as Error).message).toContain(JSON.stringify(entry));
    },
  );

  it('names every bad variable in one clear error', () => {
    let err: unknown;
    try {
      loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://nope' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).toMatch(/PORT="eighty"/);
    expect(message).toMatch(/LOG_LEVEL="loud"/);
    expect(message).toMatch(/DATABASE_URL="mysql:\/\/nope"/);
  });

  it('requires SECRET_KEY in production, and DATABASE_URL beside REDIS_URL', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/SECRET_KEY is required/);
    expect(loadConfig({ NODE_ENV: 'production', SECRET_KEY: 'k'.repeat(32) }).NODE_ENV).toBe('production');
    expect(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' })).toThrow(/REDIS_URL needs DATABASE_URL/);
  });

  it('is documented: README\'s configuration table lists every variable', () => {
    const readme = readFileSync('README.md', 'utf8');
    for (const name of Object.keys(EnvSchema.properties)) expect(readme, name).toContain(`\`${name}\``);
  });
});

describe('config types', () => {
  it('types LOG_LEVEL as its literal levels (an override typechecks and applies)', () => {
    const level: 'trace' | 'info' = 'trace';
    expect(loadConfig({}, { LOG_LEVEL: level }).LOG_LEVEL).toBe('trace');
  });
});

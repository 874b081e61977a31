/**
 * No Docker engine runs in CI, so the deployment files are checked as data: the compose
 * file parses, has every service wired to real CLI verbs and to variables .env.example
 * documents, and the Dockerfile runs as a non-root user with a health check.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EnvSchema } from '../../src/config/index.ts';

const root = new URL('../../', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, root), 'utf8');

interface Healthcheck {
  test?: string[] | string;
  disable?: boolean;
  interval?: string;
}
interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: Healthcheck;
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const composeText = read('docker-compose.yml');
const compose = parse(composeText, { merge: true }) as Compose;
const services = compose.services;
const dockerfile = read('Dockerfile');

/** Keys .env.example documents, whether set or shown commented with their default. */
const envExampleKeys = new Set(
  read('.env.example')
    .split('\n')
    .map((l) => /^#?\s*([A-Z][A-Z0-9_]*)=/.exec(l)?.[1])
    .filter((k): k is string => k !== undefined),
);

/** CLI verbs from src/cli.ts's verbs map, each backed by a command module. */
const cliVerbs = new Set([...read('src/commands/program.ts').matchAll(/^\s+['"]?([a-z-]+)['"]?: \(\) => import\('\.\/([\w-]+)\.ts'\)/gm)].map((m) => m[1]!));

const conveyorRoles = ['migrate', 'api', 'worker', 'monitor'] as const;
const argv = (s: Service): string[] => (Array.isArray(s.command) ? s.command : (s.command ?? '').split(/\s+/).filter(Boolean));

describe('docker-compose.yml', () => {
  it('has the seed\'s services plus a one-shot migrate', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'db', 'migrate', 'monitor', 'pgadmin', 'redis', 'worker']);
    expect(services.db!.image).toMatch(/^postgres:16/);
    expect(services.redis!.image).toMatch(/^redis:/);
    expect(services.pgadmin!.image).toMatch(/^dpage\/pgadmin4/);
    for (const role of conveyorRoles) expect(services[role]!.build, role).toBeDefined();
  });

  it('runs every Conveyor role as a real CLI verb', () => {
    expect(cliVerbs.size).toBeGreaterThan(0);
    for (const role of conveyorRoles) {
      const verb = argv(services[role]!)[0]!;
      expect(cliVerbs, `${role} runs "${verb}"`).toContain(verb);
      expect(existsSync(new URL(`src/commands/${verb}.ts`, root)), verb).toBe(true);
    }
    expect(argv(services.api!)).toEqual(expect.arrayContaining(['serve', '--no-worker']));
    expect(argv(services.api!)).toContain('0.0.0.0');
    expect(argv(services.monitor!)).toEqual(expect.arrayContaining(['monitor', '--port', '5555']));
  });

  it('configures Redis with a password, AOF persistence and noeviction', () => {
    const cmd = argv(services.redis!).join(' ');
    expect(cmd).toMatch(/--requirepass \$\{REDIS_PASSWORD/);
    expect(cmd).toContain('--appendonly yes');
    expect(cmd).toContain('--maxmemory-policy noeviction');
  });

  it('keeps data in named volumes', () => {
    const named = Object.keys(compose.volumes ?? {});
    const mounts = (s: Service) => (s.volumes ?? []).map((v) => v.split(':')[0]!);
    expect(mounts(services.db!)).toContain('db-data');
    expect(services.db!.volumes).toContain('db-data:/var/lib/postgresql/data');
    expect(mounts(services.redis!)).toContain('redis-data');
    expect(mounts(services.pgadmin!)).toContain('pgadmin-data');
    for (const s of Object.values(services)) for (const m of mounts(s)) if (!m.startsWith('.') && !m.startsWith('/')) expect(named).toContain(m);
  });

  it('has a health check on every long-running service, and waits on them', () => {
    for (const name of ['db', 'redis', 'pgadmin', 'api', 'monitor']) {
      const hc = services[name]!.healthcheck;
      expect(hc?.test, name).toBeDefined();
      expect(hc?.disable, name).not.toBe(true);
    }
    expect(JSON.stringify(services.api!.healthcheck!.test)).toContain('/healthz');
    expect(JSON.stringify(services.monitor!.healthcheck!.test)).toContain(':5555/healthz');
    for (const role of ['api', 'worker', 'monitor'] as const) {
      expect(services[role]!.depends_on).toEqual({
        db: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
        migrate: { condition: 'service_completed_successfully' },
      });
    }
    expect(services.migrate!.depends_on).toEqual({ db: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
    expect(services.migrate!.restart).toBe('no');
  });

  it('wires every Conveyor role to PostgreSQL, Redis and a secret key in production mode', () => {
    for (const role of conveyorRoles) {
      const env = services[role]!.environment!;
      expect(env.NODE_ENV, role).toBe('production');
      expect(env.DATABASE_URL, role).toMatch(/^postgresql:\/\/\$\{POSTGRES_USER.*\}:\$\{POSTGRES_PASSWORD.*\}@db:5432\//);
      expect(env.REDIS_URL, role).toMatch(/^redis:\/\/:\$\{REDIS_PASSWORD.*\}@redis:6379/);
      expect(env.SECRET_KEY, role).toMatch(/^\$\{SECRET_KEY:\?/);
      // every variable a process receives is one the config knows
      for (const key of Object.keys(env)) expect(Object.keys(EnvSchema.properties), `${role}: ${key}`).toContain(key);
    }
  });

  it('references only variables .env.example documents', () => {
    const referenced = new Set([...composeText.matchAll(/(?<!\$)\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!));
    expect(referenced.size).toBeGreaterThan(5);
    for (const name of referenced) expect(envExampleKeys, `\${${name}} in docker-compose.yml`).toContain(name);
  });
});

describe('.env.example', () => {
  it('documents every variable of src/config/index.ts', () => {
    for (const name of Object.keys(EnvSchema.properties)) expect(envExampleKeys, name).toContain(name);
  });

  it('sets no real secret', () => {
    for (const line of read('.env.example').split('\n')) {
      const m = /^(SECRET_KEY|[A-Z_]*PASSWORD)=(.*)$/.exec(line);
      if (m) expect(m[2], m[1]).toBe('');
    }
  });
});

describe('Dockerfile', () => {
  const stages = [...dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)].map((m) => ({ from: m[1]!, as: m[2] }));
  const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

  it('is multi-stage on node:24-slim with production dependencies only in the final stage', () => {
    expect(dockerfile).toMatch(/ARG NODE_IMAGE=node:24-slim/);
    expect(stages.length).toBeGreaterThanOrEqual(3);
    expect(dockerfile).toContain('npm ci --omit=dev');
    expect(final).toMatch(/COPY --from=prod-deps \/app\/node_modules/);
    expect(final).not.toMatch(/npm ci(?! --omit=dev)/);
  });

  it('runs as a non-root user', () => {
    const user = /^USER\s+(\S+)/m.exec(final)?.[1];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
  });

  it('checks /healthz with node and serves on 0.0.0.0', () => {
    expect(final).toMatch(/^HEALTHCHECK .*\n?.*CMD \["node", "-e", ".*\/healthz/m);
    expect(final).toContain('ENTRYPOINT ["node", "--max-semi-space-size=16", "src/cli.ts"]');
    expect(final).toContain('CMD ["serve", "--host", "0.0.0.0"]');
  });

  it('keeps secrets and local state out of the build context', () => {
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['.env', 'node_modules', '.conveyor', '.git']) expect(ignored).toContain(entry);
  });
});

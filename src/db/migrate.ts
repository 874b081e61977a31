/** Application migrations: drizzle-kit SQL files committed in src/db/migrations, applied in order. */
import { fileURLToPath } from 'node:url';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { ExpectedError } from '../lib/errors.ts';
import type { Database } from './client.ts';

export const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url));
const MIGRATIONS_SCHEMA = 'app';
const MIGRATIONS_TABLE = '__migrations';

export async function migrateApp(database: Database): Promise<void> {
  await migrate(database.db, { migrationsFolder, migrationsSchema: MIGRATIONS_SCHEMA, migrationsTable: MIGRATIONS_TABLE });
}

/** The database lacks migrations this code needs (or has ones it does not know). */
export class SchemaNotMigratedError extends ExpectedError {
  override name = 'SchemaNotMigratedError';
}

/**
 * Refuse to run against a database that `conveyor migrate` has not brought to this code's
 * schema: without it a server would start and answer 500, a CLI verb die with
 * `relation "app.users" does not exist`. Drizzle applies, in order, every migration newer
 * than the last one recorded, so the newest record tells how far the database is.
 */
export async function assertMigrated(database: Database): Promise<void> {
  const known = readMigrationFiles({ migrationsFolder });
  const table = `${MIGRATIONS_SCHEMA}.${MIGRATIONS_TABLE}`;
  const exists = await database.pool.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [table]);
  const newest = exists.rows[0]?.t ? await database.pool.query<{ last: string | null }>(`SELECT max(created_at)::text AS last FROM ${table}`) : undefined;
  const last = newest?.rows[0]?.last == null ? undefined : Number(newest.rows[0].last);
  const applied = last === undefined ? 0 : known.filter((m) => m.folderMillis <= last).length;
  if (applied < known.length) {
    throw new SchemaNotMigratedError(
      applied === 0
        ? 'this database has none of Conveyor\'s tables yet: run `conveyor migrate` first'
        : `this database lacks ${known.length - applied} of Conveyor's ${known.length} migrations: run \`conveyor migrate\` first`,
    );
  }
  if (last !== undefined && last > (known.at(-1)?.folderMillis ?? 0)) {
    throw new SchemaNotMigratedError('this database was migrated by a newer Conveyor than this one: upgrade Conveyor (or restore a matching database)');
  }
}

/** Application migrations: drizzle-kit SQL files committed in src/db/migrations, applied in order. */
import { fileURLToPath } from 'node:url';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import type { Database } from './client.ts';

export const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url));

export async function migrateApp(database: Database): Promise<void> {
  await migrate(database.db, { migrationsFolder, migrationsSchema: 'app', migrationsTable: '__migrations' });
}

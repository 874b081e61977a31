import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerDatabase } from '../helpers/database.ts';
import { cli } from '../helpers/processes.ts';

let db: { url: string; drop(): Promise<void> };
beforeAll(async () => { db = await createServerDatabase(); });
afterAll(async () => { await db?.drop(); });

describe('conveyor worker before conveyor migrate (PostgreSQL)', () => {
  it('stops at once with a clear message instead of retrying forever', async () => {
    const res = await cli(['worker'], { DATABASE_URL: db.url, REDIS_URL: '', LOG_LEVEL: 'silent' });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/run `conveyor migrate` first/);
    expect(res.stderr).not.toMatch(/\n\s+at /); // one line, no stack
  });
});

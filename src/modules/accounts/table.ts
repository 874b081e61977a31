import { sql } from 'drizzle-orm';
import { bigint, boolean, index, text, timestamp, uniqueIndex, varchar } from 'drizzle-orm/pg-core';
import { app } from '../../db/pg-schema.ts';

export const users = app.table(
  'users',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    username: varchar('username', { length: 150 }).notNull(),
    /** `scrypt$N$r$p$salt$hash` (base64): parameters travel with the hash so they can be raised later. */
    passwordHash: text('password_hash').notNull(),
    isStaff: boolean('is_staff').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastLoginAt: timestamp('last_login_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('users_username_lower_key').on(sql`lower(${t.username})`)],
);

export const apiTokens = app.table(
  'api_tokens',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    userId: bigint('user_id', { mode: 'number' })
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull().default(''),
    /** SHA-256 of the token (hex); the token itself is shown once and never stored. */
    tokenHash: text('token_hash').notNull().unique('api_tokens_hash_key'),
    /** First characters of the token, to recognise it in listings. */
    prefix: text('prefix').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [index('api_tokens_user_idx').on(t.userId)],
);

export type UserRow = typeof users.$inferSelect;

/** Server-side sessions. The cookie holds the id; only its SHA-256 is stored, so a leaked table opens nothing. */
export const sessions = app.table(
  'sessions',
  {
    idHash: text('id_hash').primaryKey(),
    userId: bigint('user_id', { mode: 'number' })
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('sessions_user_idx').on(t.userId), index('sessions_expires_idx').on(t.expiresAt)],
);

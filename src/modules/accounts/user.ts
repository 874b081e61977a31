import { Type, type Static } from 'typebox';
import type { UserRow } from './table.ts';

/** The public shape of a user (`GET /api/auth/me`, login). */
export const User = Type.Object(
  {
    id: Type.Integer(),
    username: Type.String(),
    is_staff: Type.Boolean(),
    created_at: Type.String({ format: 'date-time' }),
    last_login_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { description: 'A user account' },
);
export type User = Static<typeof User>;

/** Who is making the request: a user, or null for an anonymous visitor. */
export interface AuthenticatedUser {
  readonly id: number;
  readonly username: string;
  readonly isStaff: boolean;
  /** How this request authenticated; CSRF applies to cookie sessions only. */
  readonly via: 'session' | 'token';
}

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    is_staff: row.isStaff,
    created_at: row.createdAt.toISOString(),
    last_login_at: row.lastLoginAt?.toISOString() ?? null,
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication middleware; null is the anonymous user. */
    user: AuthenticatedUser | null;
  }
}

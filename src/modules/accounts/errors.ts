/**
 * Why an account operation or an authentication fails, in the accounts' own terms. The CLI
 * prints an AccountError's message as one line; the HTTP error table (src/app/error-table.ts)
 * maps the others to 401, 403 and 429.
 */

/** A request the caller can fix (bad username, short password, unknown user, a taken name). */
export class AccountError extends Error {
  override name = 'AccountError';
}

export class UsernameTaken extends AccountError {
  override name = 'UsernameTaken';
  constructor() {
    super('that username is already taken');
  }
}

/** No user is behind this request, or its credentials do not hold (401). */
export class NotAuthenticated extends Error {
  override name = 'NotAuthenticated';
  constructor(message = 'Authentication required') {
    super(message);
  }
}

/** A wrong username or password at login (401); which of the two is never said. */
export class InvalidCredentials extends NotAuthenticated {
  override name = 'InvalidCredentials';
  constructor() {
    super('Invalid username or password');
  }
}

/** The user is known but may not do this: not staff, a missing CSRF token, a cross-site login (403). */
export class NotAllowed extends Error {
  override name = 'NotAllowed';
}

/** Too many login attempts from one address or for one username (429). */
export class LoginThrottled extends Error {
  override name = 'LoginThrottled';
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super(`Too many login attempts; retry in ${retryAfterSeconds} s`);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The OpenAPI vocabulary every module's routes share: the tags and who may call a route. */

/** The document's tags, in the order /docs shows them; a route names one of these. */
export const apiTags = {
  items: 'Items: create, read, update, delete, query, bulk writes and a streamed export',
  tasks: 'Background tasks: queue one, follow its state and result, revoke it',
  workflows: 'Tasks run in order or together: chains, groups and chords',
  accounts: 'Log in, log out, the current user',
  external: 'The configured upstream service\'s JSON, fetched without blocking',
  files: 'The configured data file',
  operations: 'Health, readiness, metrics',
  dashboard: 'The task monitor\'s JSON and live API (staff only)',
} as const;

/**
 * Who may call a route that needs a user: an API token (`Authorization: Bearer`) or the
 * session cookie. The authentication middleware puts it on every guarded route.
 */
export const userSecurity: { [scheme: string]: string[] }[] = [{ bearer: [] }, { session: [] }];

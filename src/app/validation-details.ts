/**
 * Ajv's errors as the contract's `details`: one `{field, message}` per offending field, at
 * most DETAILS_LIMIT. A field is its path from the request part, dot-separated, array
 * entries by index: `body.name`, `body.3.name` (the fourth entry of a bulk body),
 * `body.set.score`, `querystring.limit`, `params.id`.
 */
import type { ErrorObject } from 'ajv';

export const DETAILS_LIMIT = 100;

export interface FieldIssue {
  field: string;
  message: string;
}

type Issue = Pick<ErrorObject, 'instancePath' | 'message' | 'params'> & { schemaPath?: string; keyword?: string };

const unescape = (segment: string) => segment.replaceAll('~1', '/').replaceAll('~0', '~');

function fieldOf(where: string, issue: Issue): string {
  const segments = issue.instancePath.split('/').slice(1).map(unescape);
  const named = issue.params?.missingProperty ?? issue.params?.additionalProperty;
  if (typeof named === 'string') segments.push(named);
  return [where, ...segments].join('.');
}

/** The branch a union error came from (`…/anyOf/1/const`), so the branches fold into one entry. */
const unionBranch = /\/anyOf\/\d+\//;

export function validationDetails(where: string, issues: readonly Issue[]): FieldIssue[] {
  const byField = new Map<string, FieldIssue>();
  const allowed = new Map<string, unknown[]>();
  for (const issue of issues) {
    const field = fieldOf(where, issue);
    if (issue.schemaPath !== undefined && unionBranch.test(issue.schemaPath)) {
      if (issue.keyword === 'const') (allowed.get(field) ?? allowed.set(field, []).get(field)!).push(issue.params?.allowedValue);
      continue;
    }
    if (byField.has(field)) continue;
    if (byField.size >= DETAILS_LIMIT) break;
    let message = issue.message ?? 'is invalid';
    if (issue.params?.additionalProperty !== undefined) message = 'is not an accepted field';
    if (Array.isArray(issue.params?.allowedValues)) message = `must be one of: ${(issue.params.allowedValues as unknown[]).join(', ')}`;
    byField.set(field, { field, message });
  }
  for (const [field, values] of allowed) {
    const entry = byField.get(field);
    if (entry && values.length > 0 && !entry.message.startsWith('must be one of')) entry.message = `must be one of: ${values.join(', ')}`;
  }
  return [...byField.values()];
}

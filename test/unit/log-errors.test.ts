import { describe, expect, it } from 'vitest';
import { errorSummary, redactDetail, serializeError } from '../../src/lib/log-errors.ts';

describe('error serializer', () => {
  it('keeps a unique violation\'s columns and drops its values', () => {
    expect(redactDetail('Key (name)=(alice) already exists.')).toBe('Key (name)=([redacted]) already exists.');
    expect(redactDetail('Key (lower(name), status)=(a (b), active) already exists.')).toBe('Key (lower(name), status)=([redacted]) already exists.');
    expect(redactDetail('Failing row contains (7, bob, , active, 0).')).toBe('Failing row contains ([redacted]).');
  });

  it('walks causes, keeps plain fields and never copies params', () => {
    const inner = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', params: ['secret-value'] });
    const outer = new Error('outer', { cause: inner });
    const out = serializeError(outer) as { cause: Record<string, unknown> };
    expect(out.cause).toMatchObject({ type: 'Error', message: 'socket hang up', code: 'ECONNRESET' });
    expect(JSON.stringify(out)).not.toContain('secret-value');
    expect(errorSummary(outer)).toBe('outer: socket hang up');
    expect(serializeError('not an error')).toBe('not an error');
  });
});

import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/processes.ts';

describe('conveyor worker options', () => {
  it('refuses --max-tasks-per-child without a sandboxed pool, in one clear line', async () => {
    const res = await cli(['worker', '--max-tasks-per-child', '100'], { LOG_LEVEL: 'silent' });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/--max-tasks-per-child .*--pool threads or --pool process/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a --max-tasks-per-child that is not a positive integer', async () => {
    const res = await cli(['worker', '--pool', 'process', '--max-tasks-per-child', '0'], { LOG_LEVEL: 'silent' });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/max-tasks-per-child/);
  });
});

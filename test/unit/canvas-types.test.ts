/**
 * The canvas's types follow results from step to step: a chain whose next step cannot take
 * the previous result, or a chord whose body cannot take its header's results, does not
 * compile (checked by `npm run typecheck`, the @ts-expect-error lines fail it if they compile).
 */
import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { chain, chord, defineTask, group, type TaskContext } from '../../src/tasks/index.ts';

const count = defineTask({ name: 'count', payload: Type.Object({ text: Type.String() }), handler: async ({ text }) => text.length });
const double = defineTask({ name: 'double', payload: Type.Object({}), handler: async (_p, ctx: TaskContext<number>) => (ctx.previous ?? 0) * 2 });
const total = defineTask({ name: 'total', payload: Type.Object({}), handler: async (_p, ctx: TaskContext<number[]>) => (ctx.previous ?? []).reduce((a, b) => a + b, 0) });
const shout = defineTask({ name: 'shout', payload: Type.Object({}), handler: async (_p, ctx: TaskContext<string>) => (ctx.previous ?? '').toUpperCase() });

describe('canvas types', () => {
  it('accept what fits and build the contract\'s shapes', () => {
    const ok = chain(count.s({ text: 'abc' }), double.s({}), double.s({}));
    const fan = chord([count.s({ text: 'a' }), count.s({ text: 'bb' })], total.s({}));
    const both = chain(group(count.s({ text: 'a' }), count.s({ text: 'b' })), total.s({}));
    expect(ok).toEqual({ chain: [{ task: 'count', args: { text: 'abc' } }, { task: 'double', args: {} }, { task: 'double', args: {} }] });
    expect(fan).toEqual({ chord: { header: [{ task: 'count', args: { text: 'a' } }, { task: 'count', args: { text: 'bb' } }], body: { task: 'total', args: {} } } });
    expect(both).toMatchObject({ chain: [{ group: [{}, {}] }, { task: 'total' }] });
  });

  it('refuse what does not', () => {
    // @ts-expect-error shout takes a string; count gives a number
    chain(count.s({ text: 'x' }), shout.s({}));
    // @ts-expect-error total takes the header's number[]; double is one number
    chain(count.s({ text: 'x' }), total.s({}));
    // @ts-expect-error shout cannot take [number, number]
    chord([count.s({ text: 'a' }), count.s({ text: 'b' })], shout.s({}));
    // @ts-expect-error the payload is checked too
    count.s({ text: 5 });
    expect(true).toBe(true);
  });
});

/**
 * The canvas in code, typed: a node carries the type of its result and of the `previous` it
 * expects (phantom members, never present at run time), so `chain(a.s(…), b.s(…))` does not
 * compile when b's `ctx.previous` cannot take a's result, and a chord body must take the
 * array of its header's results.
 */
import type { CanvasNode } from './canvas.ts';

declare const result: unique symbol;
declare const previous: unique symbol;

/** A canvas node whose result is `R` and which expects `ctx.previous` of type `P`. */
export type Canvas<R = unknown, P = unknown> = CanvasNode & {
  readonly [result]?: R;
  // A parameter: a node expecting `unknown` takes any previous; one expecting `number` only numbers.
  readonly [previous]?: (previous: P) => void;
};

/** The result type of a node, and the `previous` it expects. */
export type ResultOf<N> = N extends Canvas<infer R, infer _P> ? R : unknown;
type PrevOf<N> = N extends Canvas<infer _R, infer P> ? P : unknown;
type Results<T extends readonly unknown[]> = { -readonly [K in keyof T]: ResultOf<T[K]> };
/** What every member of a group accepts: the intersection of their `previous` types. */
type PrevOfAll<T extends readonly unknown[]> = T extends readonly [infer H, ...infer Rest] ? PrevOf<H> & PrevOfAll<Rest> : unknown;
/** Any node, whatever `previous` it expects (a first step gets none). */
type AnyNode = Canvas<unknown, never>;

/** Each step runs after the previous one succeeded and gets its result as `ctx.previous`. */
export function chain<A, P>(a: Canvas<A, P>): Canvas<A, P>;
export function chain<A, B, P>(a: Canvas<A, P>, b: Canvas<B, A>): Canvas<B, P>;
export function chain<A, B, C, P>(a: Canvas<A, P>, b: Canvas<B, A>, c: Canvas<C, B>): Canvas<C, P>;
export function chain<A, B, C, D, P>(a: Canvas<A, P>, b: Canvas<B, A>, c: Canvas<C, B>, d: Canvas<D, C>): Canvas<D, P>;
export function chain<A, B, C, D, E, P>(a: Canvas<A, P>, b: Canvas<B, A>, c: Canvas<C, B>, d: Canvas<D, C>, e: Canvas<E, D>): Canvas<E, P>;
export function chain<A, B, C, D, E, F, P>(a: Canvas<A, P>, b: Canvas<B, A>, c: Canvas<C, B>, d: Canvas<D, C>, e: Canvas<E, D>, f: Canvas<F, E>): Canvas<F, P>;
/** Longer chains (seven steps or more): not checked step by step. */
export function chain(a: AnyNode, b: AnyNode, c: AnyNode, d: AnyNode, e: AnyNode, f: AnyNode, g: AnyNode, ...rest: AnyNode[]): Canvas;
export function chain(...steps: AnyNode[]): Canvas {
  return { chain: steps };
}

/** All at once; the result is the array of the members' results, in order. */
export function group<T extends readonly AnyNode[]>(...members: T): Canvas<Results<T>, PrevOfAll<T>> {
  return { group: members };
}

/** The body runs once every header task succeeded, with the array of their results. */
export function chord<T extends readonly AnyNode[], R>(header: readonly [...T], body: Canvas<R, Results<T>>): Canvas<R, PrevOfAll<T>> {
  return { chord: { header, body } };
}

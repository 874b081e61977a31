/**
 * Group commit: calls that arrive while a write is in flight are written together by the
 * next one. A lone call is written at once (one round trip of latency, no timer); under load
 * one statement carries many calls, so throughput grows with concurrency instead of the
 * number of statements.
 */
export interface BatchOptions {
  /** Most items per flush; more wait for the next one. Default 500. */
  readonly maxItems?: number;
  /** Flushes in flight at once. Default 1. */
  readonly concurrency?: number;
}

export type Batched<I, O> = ((item: I) => Promise<O>) & {
  /** Resolves when everything submitted so far has been written (or has failed). */
  drain(): Promise<void>;
};

interface Pending<I, O> {
  readonly item: I;
  resolve(value: O): void;
  reject(err: unknown): void;
}

/**
 * `flush(items)` must answer one result per item, in order; if it throws, every item of that
 * flush is rejected with the error.
 */
export function batched<I, O>(flush: (items: I[]) => Promise<O[]>, opts: BatchOptions = {}): Batched<I, O> {
  const maxItems = opts.maxItems ?? 500;
  const concurrency = opts.concurrency ?? 1;
  let queue: Pending<I, O>[] = [];
  let running = 0;
  let scheduled = false;
  const idle: (() => void)[] = [];

  const run = () => {
    scheduled = false;
    while (running < concurrency && queue.length > 0) {
      const batch = queue.length <= maxItems ? queue : queue.slice(0, maxItems);
      queue = queue.length <= maxItems ? [] : queue.slice(maxItems);
      running++;
      flush(batch.map((p) => p.item)).then(
        (results) => batch.forEach((p, i) => p.resolve(results[i] as O)),
        (err: unknown) => batch.forEach((p) => p.reject(err)),
      ).finally(() => {
        running--;
        if (queue.length > 0) run();
        else if (running === 0) idle.splice(0).forEach((f) => f());
      });
    }
  };

  const submit = ((item: I) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      // Calls made in the same turn of the event loop go out together.
      if (!scheduled && running < concurrency) {
        scheduled = true;
        queueMicrotask(run);
      }
    })) as Batched<I, O>;
  submit.drain = () => (queue.length === 0 && running === 0 ? Promise.resolve() : new Promise<void>((r) => idle.push(r)));
  return submit;
}

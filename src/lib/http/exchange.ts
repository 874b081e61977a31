/**
 * One HTTP exchange collected in memory through undici's dispatch-handler API: no body
 * stream, no promise per chunk, no AbortController (what `request()` adds per call, and what
 * dominated the CPU and garbage of GET /api/external). A 2xx body is capped at `maxBytes`
 * (from content-length when declared, else as it arrives); any other body is read and
 * dropped, so the pooled connection stays usable, unless it runs past `maxBytes` too.
 */
import type { Dispatcher } from 'undici';
import { UpstreamError } from './errors.ts';

export interface Reply {
  readonly status: number;
  /** The `location` header, for redirects. */
  readonly location: string | undefined;
  /** The body of a 2xx answer; empty for any other. */
  readonly body: Buffer;
}

const tooLarge = (maxBytes: number) => new UpstreamError('too_large', `the upstream response is larger than ${maxBytes} bytes`);

export class Exchange implements Dispatcher.DispatchHandler {
  readonly done: Promise<Reply>;
  #resolve!: (reply: Reply) => void;
  #reject!: (err: unknown) => void;
  #settled = false;
  #controller: Dispatcher.DispatchController | undefined;
  #stopped: Error | undefined;
  readonly #maxBytes: number;
  #status = 0;
  #location: string | undefined;
  #keep = false;
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
    this.done = new Promise<Reply>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // If dispatch() itself throws, nobody awaits `done`; a late error must not go unhandled.
    this.done.catch(() => undefined);
  }

  /** Give up now with `reason` (a timeout, the caller's cancellation); the connection is dropped. */
  abort(reason: Error): void {
    this.#stopped ??= reason;
    this.#fail(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#stopped) controller.abort(this.#stopped);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    if (status < 200) return; // 1xx: the real answer follows
    this.#status = status;
    const location = headers.location;
    this.#location = typeof location === 'string' ? location : undefined;
    this.#keep = status <= 299;
    if (this.#keep && Number(headers['content-length']) > this.#maxBytes) this.#fail(tooLarge(this.#maxBytes));
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) return;
    this.#size += chunk.length;
    if (this.#size > this.#maxBytes) {
      if (this.#keep) return this.#fail(tooLarge(this.#maxBytes));
      // A non-2xx answer's body only ever gets dropped: answer now, and drop the connection.
      this.#settle();
      return this.#controller?.abort(new Error('discarded an oversized body'));
    }
    if (this.#keep) this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.#settle();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    this.#fail(err);
  }

  #settle(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#resolve({ status: this.#status, location: this.#location, body: this.#keep ? Buffer.concat(this.#chunks, this.#size) : Buffer.alloc(0) });
  }

  #fail(err: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#reject(err);
    this.#controller?.abort(err instanceof Error ? err : new Error(String(err)));
  }
}

/**
 * The item export: every matching item as NDJSON, with back-pressure, in flat memory.
 * One server-side cursor (pg-cursor's portal) on a dedicated pool client, in every mode
 * (docs/decisions/0002-streaming.md).
 * The first batch is read before the response starts, so a failing query still answers
 * with a proper error status.
 */
import { Readable } from 'node:stream';
import type { ChunkSource, ItemRepository } from './repository/index.ts';
import type { ItemStatus } from './status.ts';

/**
 * A Readable over a ChunkSource. `_read` runs only when the consumer wants more (that is
 * the back-pressure), and `_destroy` — called at the end, on error, and when Fastify
 * destroys the stream because the client hung up, even before the first read — always
 * closes the source, so the database connection cannot leak.
 */
class ChunkStream extends Readable {
  readonly #source: ChunkSource;

  constructor(source: ChunkSource) {
    // Object mode: each chunk (a batch of lines, already bytes) goes to the socket as it
    // is; two queued chunks keep the socket busy.
    super({ objectMode: true, highWaterMark: 2 });
    this.#source = source;
  }

  override _read(): void {
    this.#source.next().then(
      (chunk) => { if (!this.destroyed) this.push(chunk); },
      (err: Error) => this.destroy(err),
    );
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#source.close(err !== null).then(() => callback(err), (closeErr: Error) => callback(err ?? closeErr));
  }
}

export async function openItemStream(repo: ItemRepository, status: ItemStatus | undefined): Promise<Readable> {
  return new ChunkStream(await repo.openStream(status));
}

/** Generated items for `conveyor seed`: unique names per run, random status, score and description. */
import { randomBytes } from 'node:crypto';
import type { ItemRepository, NewItem } from './repository/index.ts';

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];

export interface SeedOptions {
  count: number;
  /** Rows per INSERT statement. */
  batchSize: number;
  /** Distinguishes this run's names from earlier runs' (default: random). */
  runId?: string;
  /** Called after each committed batch with the number of items inserted so far. */
  onProgress?: (inserted: number) => void;
}

export function newRunId(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

function randomItem(runId: string, n: number): NewItem {
  const words = 1 + Math.floor(Math.random() * 6);
  let description = '';
  for (let w = 0; w < words; w++) description += (w ? ' ' : '') + WORDS[Math.floor(Math.random() * WORDS.length)];
  return {
    name: `item-${runId}-${n}`,
    description,
    status: Math.random() < 0.75 ? 'active' : 'inactive',
    score: Math.round(Math.random() * 100_000) / 100,
  };
}

/**
 * Insert `count` items, one multi-row INSERT per batch (each batch commits on its own, so
 * an interrupted run keeps what it inserted). Returns the run id and how many were inserted.
 */
export async function seedItems(repo: ItemRepository, opts: SeedOptions): Promise<{ runId: string; inserted: number }> {
  const runId = opts.runId ?? newRunId();
  let inserted = 0;
  while (inserted < opts.count) {
    const size = Math.min(opts.batchSize, opts.count - inserted);
    const batch = new Array<NewItem>(size);
    for (let i = 0; i < size; i++) batch[i] = randomItem(runId, inserted + i + 1);
    inserted += (await repo.insertMany(batch)).length;
    opts.onProgress?.(inserted);
  }
  return { runId, inserted };
}

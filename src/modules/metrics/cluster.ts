/**
 * /metrics under `serve --workers N`: a scrape reaches one of the N HTTP processes, which
 * each count only their own requests. The process answering asks the cluster primary, and
 * the primary gathers every HTTP process's registry over cluster IPC (prom-client's
 * AggregatorRegistry) and answers the merged text: counters and histograms summed, series
 * every process sees alike (task events, queue depth) taken once (see their `aggregator`).
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

const REQUEST = 'conveyor:cluster-metrics-req';
const RESPONSE = 'conveyor:cluster-metrics-res';
/** Longer than prom-client's own 5 s wait for the slowest process. */
const ANSWER_TIMEOUT_MS = 6_000;

interface MetricsRequest {
  type: typeof REQUEST;
  id: number;
}
interface MetricsResponse {
  type: typeof RESPONSE;
  id: number;
  text?: string;
  error?: string;
}

const isRequest = (m: unknown): m is MetricsRequest => (m as MetricsRequest | null)?.type === REQUEST;
const isResponse = (m: unknown): m is MetricsResponse => (m as MetricsResponse | null)?.type === RESPONSE;

/** In the cluster primary, before forking: answer the HTTP processes' requests for merged metrics. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker: Worker, message: unknown) => {
    if (!isRequest(message)) return;
    const reply = (answer: Omit<MetricsResponse, 'type' | 'id'>) => {
      if (worker.isConnected()) worker.send({ type: RESPONSE, id: message.id, ...answer } satisfies MetricsResponse);
    };
    aggregator.clusterMetrics().then(
      (text) => reply({ text }),
      (err: unknown) => reply({ error: err instanceof Error ? err.message : String(err) }),
    );
  });
}

/** Whether this process is an HTTP process of a `serve --workers N` cluster. */
export const inCluster = (): boolean => cluster.isWorker && typeof process.send === 'function';

let nextId = 0;
const pending = new Map<number, { resolve(text: string): void; reject(err: Error): void }>();
let listening = false;

/**
 * In an HTTP process of the cluster: offer `registry` to the primary's aggregation, and
 * return a function that fetches the whole cluster's metrics text.
 */
export function clusterMetricsSource(registry: Registry): () => Promise<string> {
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one installs prom-client's responder to the primary's requests.
  new AggregatorRegistry();
  if (!listening) {
    listening = true;
    process.on('message', (message: unknown) => {
      if (!isResponse(message)) return;
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.text !== undefined) waiter?.resolve(message.text);
      else waiter?.reject(new Error(`the cluster primary could not gather metrics: ${message.error ?? 'no answer'}`));
    });
  }
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error('the cluster primary did not answer with metrics in time'));
      }, ANSWER_TIMEOUT_MS);
      const settle = <T>(fn: (v: T) => void) => (v: T) => {
        clearTimeout(timer);
        fn(v);
      };
      pending.set(id, { resolve: settle(resolve), reject: settle(reject) });
      process.send!({ type: REQUEST, id } satisfies MetricsRequest);
    });
}

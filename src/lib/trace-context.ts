/**
 * The trace id of the work in progress, to keep beside a task it enqueues: the active
 * OpenTelemetry span's when tracing is on, else the W3C `traceparent` a caller or proxy sent.
 */
import { trace } from '@opentelemetry/api';

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

export function currentTraceId(traceparent?: string | string[]): string | undefined {
  const span = trace.getActiveSpan()?.spanContext();
  if (span && span.traceId !== '00000000000000000000000000000000') return span.traceId;
  const header = Array.isArray(traceparent) ? traceparent[0] : traceparent;
  const id = header ? TRACEPARENT.exec(header.trim().toLowerCase())?.[1] : undefined;
  return id && id !== '00000000000000000000000000000000' ? id : undefined;
}

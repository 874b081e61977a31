/** pino: JSON in production, readable in development; secrets never reach a log line. */
import pino, { type Logger } from 'pino';
import { serializeError } from './log-errors.ts';

/** Paths scrubbed from every log line (headers, bodies, task payloads). */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.token',
  '*.secret',
  '*.authorization',
  '*.cookie',
  // Task arguments logged whole (`ctx.log.info({ args })`) nest one level deeper.
  '*.*.password',
  '*.*.token',
  '*.*.secret',
  'password',
  'token',
  'secret',
];

/** Longest a log line waits in the write buffer. */
const FLUSH_MS = 200;
/** Bytes gathered before a write(2). */
const CHUNK_BYTES = 4096;

/**
 * Lines gathered in memory and handed to a synchronous sonic-boom (which does the write(2),
 * its EAGAIN retries and pino's EPIPE handling) 4 KiB at a time. The batching is done here
 * rather than with sonic-boom's own `minLength`, because sonic-boom measures the byte length
 * of its whole pending buffer on every write: a copy of up to `minLength` bytes per line,
 * about 2.5 µs and 4 KiB of garbage for each access-log line.
 */
class LineBatch implements pino.DestinationStream {
  #lines: string[] = [];
  #size = 0;
  readonly #out: pino.DestinationStream;

  constructor(out: pino.DestinationStream) {
    this.#out = out;
    // Registered before anything else can end the output, so the last lines go out on any exit.
    process.on('exit', () => this.flush());
    setInterval(() => this.flush(), FLUSH_MS).unref();
  }

  write(line: string): void {
    this.#lines.push(line);
    this.#size += line.length;
    if (this.#size >= CHUNK_BYTES) this.flush();
  }

  flush(done?: (err?: Error) => void): void {
    if (this.#size > 0) {
      const chunk = this.#lines.join('');
      this.#lines = [];
      this.#size = 0;
      this.#out.write(chunk);
    }
    done?.();
  }
}

/** `destination` replaces stdout (tests capture lines with it). */
/** `config` is the frozen Config (its LOG_LEVEL and NODE_ENV). */
export function createLogger(config: { readonly LOG_LEVEL: string; readonly NODE_ENV: string }, name = 'conveyor', destination?: pino.DestinationStream): Logger {
  // Every logged error, whoever logs it, goes through serializeError: no statement parameters.
  const options = { name, level: config.LOG_LEVEL, redact: { paths: redactPaths, censor: '[redacted]' }, serializers: { err: serializeError } };
  if (destination) return pino(options, destination);
  if (config.NODE_ENV === 'development' && process.stdout.isTTY) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  // A busy server writes its log in 4 KiB chunks rather than one write(2) per line; a quiet
  // one still shows each line within FLUSH_MS. Lines still in memory are written on exit;
  // only a SIGKILL can lose the last FLUSH_MS of them.
  return pino(options, new LineBatch(pino.destination({ dest: 1, sync: true })));
}

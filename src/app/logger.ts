/** pino: JSON in production, readable in development; secrets never reach a log line. */
import pino, { type Logger } from 'pino';
import type { Config } from '../config/index.ts';

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

/** `destination` replaces stdout (tests capture lines with it). */
export function createLogger(config: Pick<Config, 'LOG_LEVEL' | 'NODE_ENV'>, name = 'conveyor', destination?: pino.DestinationStream): Logger {
  const options = { name, level: config.LOG_LEVEL, redact: { paths: redactPaths, censor: '[redacted]' } };
  if (destination) return pino(options, destination);
  if (config.NODE_ENV === 'development' && process.stdout.isTTY) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  // A busy server writes its log in 4 KiB chunks rather than one write(2) per line; a quiet
  // one still shows each line within FLUSH_MS. pino flushes the buffer on exit; only a
  // SIGKILL can lose the last FLUSH_MS of lines.
  const buffered = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => buffered.flush(), FLUSH_MS).unref();
  return pino(options, buffered);
}

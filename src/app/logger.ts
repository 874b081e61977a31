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
  'password',
  'token',
];

export function createLogger(config: Pick<Config, 'LOG_LEVEL' | 'NODE_ENV'>, name = 'conveyor'): Logger {
  const options = { name, level: config.LOG_LEVEL, redact: { paths: redactPaths, censor: '[redacted]' } };
  if (config.NODE_ENV === 'development' && process.stdout.isTTY) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  // One write(2) per 4 KiB of log lines instead of one per line: a synchronous write per
  // access-log line cost ~8% of a busy server's CPU. pino flushes the buffer on exit; only a
  // SIGKILL can lose its last few lines.
  return pino(options, pino.destination({ dest: 1, sync: false, minLength: 4096 }));
}

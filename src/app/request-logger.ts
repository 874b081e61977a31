/**
 * Fastify's per-request logger, made on first use. Fastify gives every request a pino child
 * bound to its id, and pino runs that binding through the wildcard redaction: about 2 KiB
 * of garbage and over a microsecond per request, while most requests never log through it
 * (the access line has its own logger and writes the id itself). This stand-in keeps the
 * parent, the bindings and the options, and makes the real child only when a line is logged.
 */
import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';

const methods = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type Method = (typeof methods)[number];

// The log methods are defined once on the prototype below, with the types pino gives them.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
interface RequestLogger extends Pick<FastifyBaseLogger, Method> {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
class RequestLogger {
  #real: FastifyBaseLogger | undefined;
  readonly #parent: FastifyBaseLogger;
  readonly #bindings: Bindings;
  readonly #options: ChildLoggerOptions;

  constructor(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  /** The real pino child, made the first time it is needed. */
  resolve(): FastifyBaseLogger {
    return (this.#real ??= this.#parent.child(this.#bindings, this.#options));
  }

  get level(): string {
    return this.#real?.level ?? this.#options.level ?? this.#parent.level;
  }

  set level(level: string) {
    this.resolve().level = level;
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.resolve().child(bindings, options);
  }
}

for (const method of methods) {
  Object.defineProperty(RequestLogger.prototype, method, {
    value(this: RequestLogger, ...args: unknown[]) {
      const log = this.resolve();
      return (log[method] as (...a: unknown[]) => void).apply(log, args);
    },
  });
}

/** Fastify's `childLoggerFactory`. */
export const lazyRequestLogger: NonNullable<FastifyServerOptions['childLoggerFactory']> = (logger, bindings, options) => new RequestLogger(logger, bindings, options);

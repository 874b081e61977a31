/** The one error outbound HTTP throws, classified so callers can map it (502/504, task retry or not). */

/**
 * - `timeout`: the whole request (connect, redirects, body) took longer than `timeoutMs`
 * - `refused`: the URL, a redirect or the connected address is not allowed by the policy
 * - `status`: the upstream answered a non-2xx status (see `status`)
 * - `not_json`: the body is not JSON
 * - `too_large`: the body is over `maxBytes`
 * - `network`: DNS, connection, TLS or protocol failure
 */
export type UpstreamErrorKind = 'timeout' | 'refused' | 'status' | 'not_json' | 'too_large' | 'network';

export class UpstreamError extends Error {
  override name = 'UpstreamError';
  readonly kind: UpstreamErrorKind;
  /** The upstream's HTTP status, when kind is `status`. */
  readonly status: number | undefined;

  constructor(kind: UpstreamErrorKind, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.kind = kind;
    this.status = options.status;
  }
}

/** Raised inside the connector when a socket reaches a forbidden address; mapped to kind `refused`. */
export class BlockedAddressError extends Error {
  override name = 'BlockedAddressError';
  readonly code = 'ERR_CONVEYOR_BLOCKED_ADDRESS';
  readonly address: string;

  constructor(host: string, address: string) {
    super(`${host} resolves to ${address}, a private, loopback or reserved address`);
    this.address = address;
  }
}

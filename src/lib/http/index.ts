/** The shared outbound HTTP client: `fetchJson`, its policy and its typed errors. */
import type { Config } from '../../config/index.ts';
import type { OutboundPolicy } from './agent.ts';

export { fetchJson, type FetchJsonOptions } from './fetch-json.ts';
export { UpstreamError, type UpstreamErrorKind } from './errors.ts';
export { closeOutboundAgents, type OutboundPolicy } from './agent.ts';
export { isBlockedAddress } from './address.ts';

/** The policy FETCH_ALLOW_PRIVATE and FETCH_ALLOWED_HOSTS describe. */
export function policyFromConfig(config: Pick<Config, 'FETCH_ALLOW_PRIVATE' | 'fetchAllowedHosts'>): OutboundPolicy {
  return { allowPrivate: config.FETCH_ALLOW_PRIVATE, allowedHosts: config.fetchAllowedHosts };
}

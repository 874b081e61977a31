/** The shared outbound HTTP client: `fetchJson`, its policy and its typed errors. */
import type { AllowedHost, OutboundPolicy } from './agent.ts';

export { fetchJson, type FetchJsonOptions } from './fetch-json.ts';
export { UpstreamError, type UpstreamErrorKind } from './errors.ts';
export { closeOutboundAgents, type AllowedHost, type OutboundPolicy } from './agent.ts';
export { isBlockedAddress } from './address.ts';

/** The policy FETCH_ALLOW_PRIVATE and FETCH_ALLOWED_HOSTS describe (a structural slice of the Config). */
export function policyFromConfig(config: { readonly FETCH_ALLOW_PRIVATE: boolean; readonly fetchAllowedHosts: readonly AllowedHost[] }): OutboundPolicy {
  return { allowPrivate: config.FETCH_ALLOW_PRIVATE, allowedHosts: config.fetchAllowedHosts };
}

import type { Caller } from '@callsign/core'
import { metrics } from '@opentelemetry/api'

/**
 * The issuer's token counter, on the meter `@callsign/issuer`: `callsign.issuer.tokens`, one per
 * token issued, by client (`callsign.client.id`, one of the registered clients), grant and the kind
 * of credential the client authenticated with. Refusals are not counted here (their client id is
 * whatever the request claimed, an unbounded set); the pipeline's decisions and the audit log have them.
 */
export function tokenTelemetry(): (client: Caller, grantType: string) => void {
  const tokens = metrics.getMeter('@callsign/issuer').createCounter('callsign.issuer.tokens', {
    description: 'Access tokens issued, by client and grant',
    unit: '{token}',
  })
  return (client, grantType) =>
    tokens.add(1, {
      'callsign.client.id': client.id,
      'callsign.issuer.grant_type': grantType,
      'callsign.credential.kind': client.kind,
    })
}

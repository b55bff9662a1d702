import type { ServerResponse } from 'node:http'
import type { AuthError } from '@callsign/core'
import { httpRefusal } from '@callsign/core/adapter'

/** Writes a refusal: status, `WWW-Authenticate` challenge, small problem+json body. */
export function sendRefusal(res: ServerResponse, error: AuthError, realm: string): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const refusal = httpRefusal(error, realm)
  res.statusCode = refusal.status
  for (const [name, value] of Object.entries(refusal.headers)) res.setHeader(name, value)
  res.end(JSON.stringify(refusal.body))
}

import type { AuthError } from '@callsign/core'
import { httpRefusal } from '@callsign/core/adapter'
import type { FastifyReply } from 'fastify'

/** Sends a refusal: status, `WWW-Authenticate` challenge, small problem+json body. */
export function sendRefusal(reply: FastifyReply, error: AuthError, realm: string): FastifyReply {
  const refusal = httpRefusal(error, realm)
  return reply.code(refusal.status).headers(refusal.headers).send(JSON.stringify(refusal.body))
}

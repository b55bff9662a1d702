import { performance } from 'node:perf_hooks'
import { AUDIT_SCHEMA_VERSION, type AuditEvent, type AuditSink } from './audit-event.js'
import { AuthError, ConfigError, isAuthError } from './auth-error.js'
import type { AuthRequest } from './auth-request.js'
import { singleAuthorization } from './authorization.js'
import type { Caller, CredentialKind } from './caller.js'
import { type Clock, systemClock } from './clock.js'
import { decisionTelemetry, type TelemetryOptions } from './decision-telemetry.js'
import type { Policy, Requirement } from './define-policy.js'
import {
  type ComponentHealth,
  type HealthStatus,
  healthOf,
  type PipelineHealth,
  worseStatus,
} from './health.js'
import { withDeadline } from './lib/with-deadline.js'
import { checkLogger, type Logger, warn } from './logger.js'
import type { Verifier } from './verifier.js'

export interface PipelineOptions {
  /** A compiled policy, or a watcher whose `current` policy is read on every request. */
  readonly policy: Policy | { readonly current: Policy }
  /** Run in this order; at most one per credential kind. */
  readonly verifiers: readonly Verifier[]
  /** Where decisions go: a sink, a function, or several. Default: nowhere. */
  readonly audit?:
    | AuditSink
    | ((event: AuditEvent) => void)
    | readonly (AuditSink | ((event: AuditEvent) => void))[]
  readonly clock?: Clock
  /** The realm of the `WWW-Authenticate` challenge. Default `'callsign'`. */
  readonly realm?: string
  /**
   * Dry run, for adopting Callsign in a running service: refusals are audited as `would-deny` and
   * let through. Off by default, and announced with a warning when on.
   */
  readonly dryRun?: boolean
  /**
   * A decision still waiting on its verifiers after this long is refused (401, reason
   * `verifier_timeout`): a hung verifier never hangs the request. Default 10 000 ms.
   */
  readonly timeoutMs?: number
  /**
   * OpenTelemetry: every decision is counted (`callsign.decisions`) and timed
   * (`callsign.verification.duration`) through the SDK the application registered before making the
   * pipeline, and written on the active span, if any. Without an SDK, nothing is recorded.
   */
  readonly telemetry?: TelemetryOptions
  /** Where one-time warnings go (dry run, unmapped routes): a pino-compatible logger. Default: process warnings. */
  readonly logger?: Logger
}

export type Decision =
  | { readonly allowed: true; readonly caller: Caller | null; readonly requirement: Requirement | undefined }
  | { readonly allowed: false; readonly error: AuthError }

export interface Pipeline {
  /**
   * Decides one request. Never throws: a failure is a refusal. The decision is returned as it is
   * when every verifier answered synchronously (from cache, or from the TLS handshake), and as a
   * promise when one had to wait; `await` takes either.
   */
  decide(req: AuthRequest): Decision | Promise<Decision>
  /**
   * A further requirement inside a route that `decide` already allowed (an adapter's
   * `requireScopes`): `caller` must hold every one of `scopes`. Writes its own audit event and
   * honours dry run, like `decide`. Never throws.
   */
  authorize(req: AuthRequest, caller: Caller | null, scopes: readonly string[]): Decision
  /**
   * A refusal an adapter reached before the policy could be asked (a transport rule, a request it
   * cannot place), recorded like every other decision: one audit event, dry run honoured.
   */
  refuse(req: AuthRequest, error: AuthError): Decision
  readonly realm: string
  readonly dryRun: boolean
  /** The policy in force now. */
  policy(): Policy
  /**
   * The health of every part that offers one: each verifier (key sets fresh, stale or failing; the
   * key store loaded and when; TLS material and its expiry) and each audit sink. For a readiness
   * endpoint: not ready while `status` is `failing`. Never throws.
   */
  health(): PipelineHealth
}

/**
 * The decision pipeline, the one path every transport takes: the route's requirement, then the
 * verifiers in order, then the scope check, then exactly one audit event.
 *
 * @example
 * const pipeline = createPipeline({ policy, verifiers: [apiKeyVerifier({ store })], audit })
 * const decision = await pipeline.decide(req)
 */
export function createPipeline(options: PipelineOptions): Pipeline {
  const { verifiers } = options
  if (!options.policy || !('current' in options.policy || 'requirement' in options.policy)) {
    throw new ConfigError('pipeline: "policy" must be a policy from definePolicy() or a policy watcher')
  }
  if (!Array.isArray(verifiers) || (verifiers.length === 0 && !allPublic(options.policy))) {
    throw new ConfigError(
      'pipeline: "verifiers" must list at least one verifier (none only when every route of a fixed policy is public)',
    )
  }
  const kinds = new Set<string>()
  for (const verifier of verifiers) {
    if (typeof verifier?.verify !== 'function')
      throw new ConfigError('pipeline: every verifier needs a verify()')
    if (kinds.has(verifier.kind)) throw new ConfigError(`pipeline: two verifiers of kind "${verifier.kind}"`)
    kinds.add(verifier.kind)
  }
  const realm = options.realm ?? 'callsign'
  if (!/^[\x21\x23-\x5b\x5d-\x7e ]{1,64}$/.test(realm))
    throw new ConfigError('pipeline: "realm" is not a valid realm')
  const auditParts = Array.isArray(options.audit) ? options.audit : options.audit ? [options.audit] : []
  const sinks = auditParts.map((sink): ((event: AuditEvent) => void) =>
    typeof sink === 'function' ? sink : (event) => sink.write(event),
  )
  const clock = options.clock ?? systemClock
  const dryRun = options.dryRun === true
  const timeoutMs = options.timeoutMs ?? 10_000
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000) {
    throw new ConfigError('pipeline: "timeoutMs" must be an integer from 1 to 600000')
  }
  const source = options.policy
  const policy = 'current' in source ? () => source.current : () => source
  const logger = checkLogger(options.logger, 'pipeline')
  if (dryRun) {
    warn(
      logger,
      'CALLSIGN_DRY_RUN',
      'Callsign runs in DRY-RUN mode: refused requests are let through and audited as would-deny',
    )
  }

  if (
    options.telemetry !== undefined &&
    (typeof options.telemetry !== 'object' || options.telemetry === null)
  ) {
    throw new ConfigError('pipeline: "telemetry" must be an object')
  }
  const telemetry = decisionTelemetry(options.telemetry)
  /** Decisions are timed for the audit trail and for the duration histogram, and only then. */
  const timed = sinks.length > 0 || telemetry.metering
  const now = () => (timed ? performance.now() : 0)
  const emit = (event: AuditEvent) => {
    for (const sink of sinks) {
      try {
        sink(event)
      } catch {
        // an audit sink must never decide a request
      }
    }
  }

  /** The one audit event of a decision, and the decision itself. */
  const record = (attempt: Attempt, { caller = null, error }: Result): Decision => {
    const { req, requirement } = attempt
    const decision = error === undefined ? 'allow' : dryRun ? 'would-deny' : 'deny'
    const reason = error ? error.reason : requirement?.public ? 'public' : 'granted'
    const latency = timed ? performance.now() - attempt.started : Number.NaN
    telemetry.record({
      req,
      decision,
      reason,
      code: error?.code,
      caller,
      kind: caller?.kind ?? (error && refusedKind.get(error)),
      seconds: latency / 1000,
    })
    // With no sink there is no one to build the event for.
    if (sinks.length > 0)
      emit({
        v: AUDIT_SCHEMA_VERSION,
        time: new Date(clock.now()).toISOString(),
        decision,
        ...(error ? { code: error.code } : {}),
        reason,
        ...(caller ? { caller: caller.id, kind: caller.kind, credentialId: caller.credentialId } : {}),
        scopes: requirement?.scopes ?? [],
        transport: req.transport,
        method: req.method,
        route: req.route,
        ...(req.remoteAddress ? { remoteAddress: req.remoteAddress } : {}),
        latencyMs: Math.round(latency * 1000) / 1000,
      })
    if (error === undefined || dryRun) return { allowed: true, caller, requirement }
    return { allowed: false, error }
  }

  /** The scope check, once the verifiers have answered. */
  const conclude = (
    attempt: Attempt & { requirement: Requirement },
    current: Policy,
    outcome: Outcome,
  ): Decision => {
    if (outcome instanceof AuthError) return record(attempt, { error: outcome })
    let caller: Caller
    try {
      caller = withGrants(outcome, current.grantsFor(outcome.id))
    } catch (cause) {
      return record(attempt, { error: refusalOf(cause) })
    }
    return record(attempt, { caller, error: missingScopes(caller, attempt.requirement.scopes) })
  }

  const health = (): PipelineHealth => {
    let status: HealthStatus = 'ok'
    const components: Record<string, ComponentHealth> = {}
    const add = (name: string, part: object) => {
      const report = healthOf(part as { health?: () => unknown })
      if (report === undefined) return
      components[name] = report
      status = worseStatus(status, report.status)
    }
    for (const verifier of verifiers) add(`verifier:${verifier.kind}`, verifier)
    auditParts.forEach((sink, index) => {
      add(`audit:${index}`, sink)
    })
    return { status, components }
  }

  return {
    realm,
    dryRun,
    policy,
    health,
    decide(req) {
      const started = now()
      let current: Policy
      let requirement: Requirement | undefined
      try {
        current = policy()
        requirement = current.requirement(req.transport, req.method, req.route)
      } catch (cause) {
        return record({ req, started, requirement: undefined }, { error: refusalOf(cause) })
      }
      if (requirement === undefined) {
        const error = new AuthError('ERR_ROUTE_NOT_IN_POLICY', { reason: 'route_not_in_policy' })
        return record({ req, started, requirement }, { error })
      }
      const attempt = { req, started, requirement }
      if (requirement.public) return record(attempt, {})
      const outcome = authenticate(req, verifiers)
      if (!(outcome instanceof Promise)) return conclude(attempt, current, outcome)
      return withDeadline(outcome, timeoutMs, verifierTimeout).then((settled) =>
        conclude(attempt, current, settled),
      )
    },
    authorize(req, caller, scopes) {
      const attempt = { req, started: now(), requirement: { key: req.route, public: false, scopes } }
      if (caller === null) {
        return record(attempt, { error: new AuthError('ERR_NO_CREDENTIAL', { reason: 'no_caller' }) })
      }
      return record(attempt, { caller, error: missingScopes(caller, scopes) })
    },
    refuse(req, error) {
      return record({ req, started: now(), requirement: undefined }, { error })
    },
  }
}

/** One decision under way: what its audit event says besides the outcome. */
interface Attempt {
  readonly req: AuthRequest
  /** `performance.now()` when it started; 0 when no sink or meter wants the latency. */
  readonly started: number
  readonly requirement: Requirement | undefined
}

/** How a decision ended: the caller it found, if any, and the refusal, if any. */
interface Result {
  readonly caller?: Caller | null
  readonly error?: AuthError | undefined
}

type Outcome = Caller | AuthError

/**
 * A fixed policy whose every route is public never asks a verifier (a service of public routes
 * only, such as a token issuer that authenticates its clients itself), so it needs none. A policy
 * watcher may gain a protected route on its next reload, so it always needs one.
 */
function allPublic(policy: PipelineOptions['policy']): boolean {
  return 'requirements' in policy && policy.requirements.every((requirement) => requirement.public)
}

/**
 * Runs every verifier; the first bad credential ends it. Exactly one credential must remain. Stays
 * synchronous for as long as the verifiers answer synchronously; the first promise hands the rest
 * of the run to it.
 */
function authenticate(req: AuthRequest, verifiers: readonly Verifier[]): Outcome | Promise<Outcome> {
  try {
    singleAuthorization(req) // a repeated Authorization header is refused before any verifier runs
  } catch (error) {
    return refusalOf(error)
  }
  return collect(req, verifiers, 0, new Found())
}

/** The verifiers from `index` on, adding each caller to `found`. */
function collect(
  req: AuthRequest,
  verifiers: readonly Verifier[],
  index: number,
  found: Found,
): Outcome | Promise<Outcome> {
  let i = index
  try {
    for (; i < verifiers.length; i++) {
      const verifier = verifiers[i]!
      const answer = verifier.verify(req)
      if (answer instanceof Promise) {
        const next = i + 1
        return answer.then(
          (caller) => {
            try {
              found.add(caller)
            } catch (error) {
              return refusalBy(verifier, error)
            }
            return collect(req, verifiers, next, found)
          },
          (error: unknown) => refusalBy(verifier, error),
        )
      }
      found.add(answer)
    }
  } catch (error) {
    return refusalBy(verifiers[i]!, error)
  }
  return found.outcome()
}

/** The callers the verifiers found. The usual case is one: the array is only built for a second. */
class Found {
  first: Caller | undefined
  callers: Caller[] | undefined
  add(caller: Caller | null | undefined): void {
    if (caller === null || caller === undefined) return
    // A verifier that breaks its contract is refused like one that throws (and audited).
    if (!isCaller(caller)) throw new AuthError('ERR_INVALID_CREDENTIAL', { reason: 'verifier_error' })
    if (this.first === undefined) this.first = caller
    else if (this.callers === undefined) this.callers = [this.first, caller]
    else this.callers.push(caller)
  }
  outcome(): Outcome {
    const { first, callers } = this
    if (first === undefined) return noCredential()
    if (callers === undefined) return isBoundTo(first, first) ? noCredential() : first
    // A certificate-bound token (RFC 8705) and the certificate it is bound to are one credential.
    const distinct = callers.filter((caller) => !callers.some((other) => isBoundTo(caller, other)))
    if (distinct.length === 0) return noCredential()
    if (distinct.length > 1) return new AuthError('ERR_AMBIGUOUS_REQUEST', { reason: 'several_credentials' })
    return distinct[0]!
  }
}

/** The kind of credential each refusal from a verifier was about, for the metrics. */
const refusedKind = new WeakMap<AuthError, CredentialKind>()

/** A verifier's failure as a refusal, remembered as one about the verifier's kind of credential. */
function refusalBy(verifier: Verifier, error: unknown): AuthError {
  const refusal = refusalOf(error)
  refusedKind.set(refusal, verifier.kind)
  return refusal
}

/** A verifier's failure as a refusal: its own AuthError, anything else `verifier_error`. */
function refusalOf(error: unknown): AuthError {
  if (isAuthError(error)) return error
  return new AuthError('ERR_INVALID_CREDENTIAL', { reason: 'verifier_error', cause: error })
}

/** True when `certificate` is the mTLS credential that the token `other` is bound to. */
function isBoundTo(certificate: Caller, other: Caller): boolean {
  return certificate.kind === 'mtls' && other.boundCertificate === certificate.credentialId
}

function noCredential(): AuthError {
  return new AuthError('ERR_NO_CREDENTIAL', { reason: 'no_credential' })
}

/** The refusal of a decision still waiting on its verifiers at its deadline. */
function verifierTimeout(): AuthError {
  return new AuthError('ERR_INVALID_CREDENTIAL', { reason: 'verifier_timeout' })
}

/** The refusal for a caller that lacks one of `required`, or undefined when it holds them all. */
function missingScopes(caller: Caller, required: readonly string[]): AuthError | undefined {
  for (const scope of required) {
    if (!caller.scopes.has(scope)) {
      return new AuthError('ERR_INSUFFICIENT_SCOPE', { reason: 'scope_missing', requiredScopes: required })
    }
  }
  return undefined
}

const KINDS: ReadonlySet<string> = new Set<CredentialKind>(['api-key', 'jwt', 'mtls'])

/** True for what the `Caller` contract promises: the fields the pipeline and the audit event read. */
function isCaller(value: unknown): value is Caller {
  const caller = value as Partial<Caller> | null
  return (
    typeof caller === 'object' &&
    caller !== null &&
    typeof caller.id === 'string' &&
    caller.id !== '' &&
    typeof caller.kind === 'string' &&
    KINDS.has(caller.kind) &&
    caller.scopes instanceof Set &&
    typeof caller.credentialId === 'string' &&
    typeof caller.attributes === 'object' &&
    caller.attributes !== null
  )
}

/**
 * The caller with this service's grants added. Verifiers hand out the same frozen caller for the
 * same credential (a cached key or token), so the merged caller is kept beside it, per grant set,
 * rather than built again on every request.
 */
const granted = new WeakMap<Caller, { readonly grants: ReadonlySet<string>; readonly caller: Caller }>()

function withGrants(caller: Caller, grants: ReadonlySet<string>): Caller {
  if (grants.size === 0) return caller
  const known = granted.get(caller)
  if (known?.grants === grants) return known.caller
  let merged = caller
  for (const scope of grants) {
    if (!caller.scopes.has(scope)) {
      merged = Object.freeze({ ...caller, scopes: new Set([...caller.scopes, ...grants]) })
      break
    }
  }
  // Only a frozen caller can be reused: anything else might change under the cached copy.
  if (Object.isFrozen(caller)) granted.set(caller, { grants, caller: merged })
  return merged
}

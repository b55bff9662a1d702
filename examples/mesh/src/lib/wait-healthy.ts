import type { Outcome } from './calls.js'

/** Polls `probe` until it answers 200/OK, or fails after `timeoutMs`. */
export async function waitHealthy(
  name: string,
  probe: () => Promise<Outcome>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = 'no answer'
  while (Date.now() < deadline) {
    try {
      const outcome = await probe()
      if (outcome.status === '200' || outcome.status === 'OK') return
      last = outcome.status
    } catch (error) {
      last = (error as Error).message
    }
    await new Promise((resolve) => setTimeout(resolve, 150))
  }
  throw new Error(`${name} did not become healthy in ${timeoutMs / 1000} s (last: ${last}); see its log`)
}

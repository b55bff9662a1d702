import { performance } from 'node:perf_hooks'
import { setImmediate as nextTurn } from 'node:timers/promises'

/**
 * For long work on the event loop: `await pause()` between small steps gives the loop a turn once
 * `sliceMs` have passed since the last one, so requests keep being answered while the work goes on.
 */
export function yieldEvery(sliceMs: number): () => Promise<void> | undefined {
  let since = performance.now()
  return () => {
    if (performance.now() - since < sliceMs) return undefined
    return nextTurn().then(() => {
      since = performance.now()
    })
  }
}

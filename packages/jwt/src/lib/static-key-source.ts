import { invalid } from './fail.js'
import type { KeyRecord, KeySet } from './key-set.js'
import type { KeySource, KeySourceHealth } from './key-source.js'

/** Keys given in the options: always fresh. */
export function staticKeySource(issuer: string, set: KeySet, source: 'static' | 'secret'): KeySource {
  return {
    async getKey(kid, alg): Promise<KeyRecord> {
      const found = set.find(kid, alg)
      if (found === undefined) throw invalid('unknown_kid')
      if (found === 'mismatch') throw invalid('alg_not_allowed')
      return found
    },
    keyAtHand(kid, alg) {
      const found = set.find(kid, alg)
      return typeof found === 'object' ? found : undefined
    },
    stillTrusted: () => true,
    async warmUp() {},
    health(): KeySourceHealth {
      return {
        issuer,
        source,
        state: 'fresh',
        keys: set.records.length,
        lastSuccessAgeSeconds: 0,
        lastError: null,
      }
    },
  }
}

/** The `jti`s of accepted client assertions, each kept until its assertion has expired. */
export interface SeenAssertions {
  /** Records the id: `replayed` when it is still remembered, `full` when no room is left. */
  use(id: string, expiresAtMs: number, nowMs: number): 'fresh' | 'replayed' | 'full'
}

/**
 * A Map of assertion ids to their expiry. Expired ids are swept when the map is full; when it is
 * still full, the assertion is refused rather than an id forgotten early (which would allow a
 * replay). Assertions live minutes, so the cap is reached only by a flood of valid assertions.
 */
export function seenAssertions(maxEntries: number): SeenAssertions {
  const seen = new Map<string, number>()
  return {
    use(id, expiresAtMs, nowMs) {
      const known = seen.get(id)
      if (known !== undefined && known > nowMs) return 'replayed'
      if (seen.size >= maxEntries) {
        for (const [entry, expiry] of seen) if (expiry <= nowMs) seen.delete(entry)
        if (seen.size >= maxEntries) return 'full'
      }
      seen.set(id, expiresAtMs)
      return 'fresh'
    },
  }
}

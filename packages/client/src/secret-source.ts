/**
 * Where a secret comes from. The value is held in a closure, never in a property, so logging,
 * `util.inspect` or `JSON.stringify` of a source shows where it comes from and never what it is.
 *
 * @example
 * const key: SecretSource = fileSecret('/run/secrets/orders-key')
 * console.log(key) // FileSecret { path: '/run/secrets/orders-key' }
 */
export interface SecretSource {
  /** Where the secret comes from, for messages: `file /run/secrets/key`, `env ORDERS_KEY`. */
  readonly description: string
  /** The current value (the last good one, when a reload failed). */
  value(): string
  /** Re-reads the secret now; true when the value changed. */
  refresh(): boolean
  /** Stops watching. */
  close(): void
}

import pg from 'pg'

export interface ChangeListenerOptions {
  readonly url: string
  /** The quoted channel name. */
  readonly channel: string
  /** Shown in `pg_stat_activity.application_name`, so an operator can find the connection. */
  readonly applicationName: string
  readonly timeoutMs: number
  readonly heartbeatMs: number
  readonly minRetryMs: number
  readonly maxRetryMs: number
  /** One key id changed. */
  readonly onId: (id: string) => void
  /** Listening (again): any change since the connection was lost is unknown. */
  readonly onListening: () => void
  /** The connection failed or was lost; a retry is scheduled. */
  readonly onLost: (cause: unknown) => void
}

export interface ChangeListener {
  /** True from a successful `LISTEN` until the connection fails. */
  listening(): boolean
  close(): Promise<void>
}

/**
 * One dedicated connection that runs `LISTEN` on the store's channel and hands each notification's
 * payload (a key id) to `onId`. A lost connection (server restart, `pg_terminate_backend`, a
 * heartbeat `SELECT 1` that gets no answer in time) is replaced after a delay that doubles from
 * `minRetryMs` to `maxRetryMs`, for as long as the store is open; nothing here ever throws.
 */
export function changeListener(options: ChangeListenerOptions): ChangeListener {
  let client: pg.Client | undefined
  let live = false
  let closed = false
  let delay = options.minRetryMs
  let retry: NodeJS.Timeout | undefined
  let heartbeat: NodeJS.Timeout | undefined

  const lost = (failed: pg.Client, cause: unknown) => {
    if (client !== failed) return // already handled
    client = undefined
    live = false
    clearInterval(heartbeat)
    failed.removeAllListeners('notification')
    failed.end().catch(() => {})
    if (closed) return
    options.onLost(cause)
    retry = setTimeout(connect, delay)
    retry.unref()
    delay = Math.min(delay * 2, options.maxRetryMs)
  }

  const connect = () => {
    if (closed) return
    const next = new pg.Client({
      connectionString: options.url,
      application_name: options.applicationName,
      connectionTimeoutMillis: options.timeoutMs,
      query_timeout: options.timeoutMs,
      keepAlive: true,
    })
    client = next
    next.on('error', (cause) => lost(next, cause))
    next.on('end', () => lost(next, new Error('the listening connection ended')))
    next.on('notification', (message) => {
      if (client === next && message.payload) options.onId(message.payload)
    })
    next
      .connect()
      .then(() => next.query(`LISTEN ${options.channel}`))
      .then(() => {
        if (client !== next) return
        live = true
        delay = options.minRetryMs
        heartbeat = setInterval(() => {
          next.query('SELECT 1').catch((cause: unknown) => lost(next, cause))
        }, options.heartbeatMs)
        heartbeat.unref()
        options.onListening()
      })
      .catch((cause: unknown) => lost(next, cause))
  }

  connect()
  return {
    listening: () => live,
    async close() {
      closed = true
      clearTimeout(retry)
      clearInterval(heartbeat)
      const current = client
      client = undefined
      live = false
      await current?.end().catch(() => {})
    },
  }
}

import { randomBytes, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import {
  type FileHandle,
  link,
  lstat,
  open,
  readdir,
  readFile,
  rename,
  unlink,
  writeFile,
} from 'node:fs/promises'
import { createConnection, createServer, type Server } from 'node:net'
import { hostname } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { KeyStoreError } from '../key-store-error.js'

export interface FileLockOptions {
  /** Give up after waiting this long for another holder. */
  readonly timeoutMs: number
  /** Only for a lock written by a release without liveness sockets: broken when older than this. */
  readonly legacyStaleMs: number
}

/** What the holder can ask of its lock while it works. */
export interface HeldLock {
  /** Throws `ERR_KEY_STORE_LOCKED` unless the lock file is still the one this holder created. */
  verify(): Promise<void>
}

interface Holder {
  readonly pid: number
  readonly token: string
  readonly host?: string
  readonly machine?: string
  readonly socket?: string
}

/**
 * Runs `fn` while holding a cross-process lock on one machine: a file, created whole (see
 * `createLock`), naming its holder and a Unix socket the holder listens on for as long as it lives.
 * That socket is the holder's proof of life: the kernel accepts a connection to it while the
 * process exists, even paused (SIGSTOP) or busy, in any pid namespace, and refuses it once the
 * process is gone. A lock is broken only when its socket refuses, so a live holder's lock is never
 * taken, whatever its age. A lock from another machine (by boot id) cannot be judged and is never
 * broken. See `breakDeadLock` for how a dead holder's lock is removed without touching a fresh one.
 */
export async function withFileLock<T>(
  lockPath: string,
  options: FileLockOptions,
  fn: (lock: HeldLock) => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs
  const token = `${process.pid}:${randomUUID()}`
  const socketName = `${basename(lockPath)}.${randomBytes(6).toString('hex')}.sock`
  const proof = await listenForProbes(dirname(lockPath), socketName)
  const content: Holder = {
    pid: process.pid,
    token,
    host: hostname(),
    machine: machineId(),
    socket: socketName,
  }
  const text = JSON.stringify({ ...content, at: new Date().toISOString() })
  try {
    for (;;) {
      try {
        await createLock(lockPath, text)
        break
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') {
          throw new KeyStoreError('ERR_KEY_STORE_IO', `cannot create the lock file ${lockPath}`, {
            cause: error,
          })
        }
        const judged = await judgeLock(lockPath, options.legacyStaleMs)
        if (judged.state === 'gone') continue
        if (judged.state === 'dead' && (await breakDeadLock(lockPath, judged.text, text, token))) continue
        if (Date.now() > deadline) {
          throw lockedError(lockPath, judged.state === 'alive' ? judged.holder : undefined)
        }
        await sleep(5 + Math.random() * 20)
      }
    }
    const ino = (await lstat(lockPath)).ino
    const held: HeldLock = {
      async verify() {
        const now = await lstat(lockPath).catch(() => undefined)
        if (now?.ino !== ino) {
          throw new KeyStoreError(
            'ERR_KEY_STORE_LOCKED',
            `the lock ${lockPath} was removed while this write held it; nothing was written`,
          )
        }
      },
    }
    try {
      return await fn(held)
    } finally {
      await release(lockPath, token)
    }
  } finally {
    await proof.close()
  }
}

/**
 * Creates the lock file with its content in one step: the content goes to a private temporary file
 * that is then hard-linked to the lock's name (which fails with EEXIST when the lock is held). A
 * process killed at any point leaves either no lock or a whole one naming its socket.
 */
async function createLock(lockPath: string, content: string): Promise<void> {
  const temp = `${lockPath}.${randomUUID()}.tmp`
  await writeFile(temp, content, { mode: 0o600, flag: 'wx' })
  try {
    await link(temp, lockPath)
  } finally {
    await unlink(temp).catch(() => {})
  }
}

async function release(lockPath: string, token: string): Promise<void> {
  try {
    const text = await readFile(lockPath, 'utf8')
    if (parseHolder(text)?.token === token) await unlink(lockPath)
  } catch {
    // gone already (removed by hand)
  }
}

type Judgement = { state: 'gone' } | { state: 'dead'; text: string } | { state: 'alive'; holder: Holder }

async function judgeLock(lockPath: string, legacyStaleMs: number): Promise<Judgement> {
  let text: string
  let mtimeMs: number
  try {
    text = await readFile(lockPath, 'utf8')
    mtimeMs = (await lstat(lockPath)).mtimeMs
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return { state: 'gone' } // released meanwhile: try again at once
    throw new KeyStoreError('ERR_KEY_STORE_IO', `cannot read the lock file ${lockPath}`, { cause: error })
  }
  const holder = parseHolder(text)
  // Locks are created whole, so one that names no holder is debris (a stray edit): dead.
  if (holder === undefined) return { state: 'dead', text }
  if (holder.socket === undefined) {
    // Written by an older release, which proved nothing: judged by age, as that release did.
    return Date.now() - mtimeMs > legacyStaleMs ? { state: 'dead', text } : { state: 'alive', holder }
  }
  if (holder.machine !== machineId()) return { state: 'alive', holder }
  const alive = await probe(dirname(lockPath), holder.socket)
  return alive ? { state: 'alive', holder } : { state: 'dead', text }
}

/**
 * Removes a lock judged dead, holding the break lock (`<lock>.break`) so that breakers go one at a
 * time. A lock whose socket refused is dead only if it is still there afterwards: a holder removes
 * its lock before it closes its socket, so a lock released normally is gone by the time its socket
 * refuses. Once a dead lock is seen under the break lock, nothing but a breaker can remove it, and
 * breakers wait for each other: the rename moves that very lock and never a fresh one. False when
 * another breaker is at work (try again shortly).
 */
async function breakDeadLock(lockPath: string, deadText: string, ourText: string, token: string) {
  const breakPath = `${lockPath}.break`
  try {
    await createLock(breakPath, ourText)
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') {
      throw new KeyStoreError('ERR_KEY_STORE_IO', `cannot create the lock file ${breakPath}`, {
        cause: error,
      })
    }
    // A breaker killed in the few milliseconds it holds the break lock leaves it behind.
    const judged = await judgeLock(breakPath, 0)
    if (judged.state === 'dead') await removeLock(breakPath, judged.text)
    return false
  }
  try {
    const now = await readFile(lockPath, 'utf8').catch(() => undefined)
    if (now === deadText) await removeLock(lockPath, deadText)
    return true
  } finally {
    await release(breakPath, token)
  }
}

/** Renames the lock aside and deletes it (and its dead socket) if it holds `text`; otherwise puts it back. */
async function removeLock(path: string, text: string): Promise<void> {
  const aside = `${path}.${randomUUID()}.stale`
  try {
    await rename(path, aside)
  } catch {
    return // gone already
  }
  try {
    if ((await readFile(aside, 'utf8')) !== text) {
      await link(aside, path).catch(() => {})
      return
    }
    const socket = parseHolder(text)?.socket
    if (socket !== undefined) await unlink(join(dirname(path), socket)).catch(() => {})
  } finally {
    await unlink(aside).catch(() => {})
  }
}

function lockedError(lockPath: string, holder: Holder | undefined): KeyStoreError {
  if (holder === undefined) {
    return new KeyStoreError(
      'ERR_KEY_STORE_LOCKED',
      `the key store's lock ${lockPath} is busy; nothing was written`,
    )
  }
  const who = `process ${holder.pid} on ${holder.host ?? 'an unknown host'}`
  if (holder.socket !== undefined && holder.machine !== machineId()) {
    return new KeyStoreError(
      'ERR_KEY_STORE_LOCKED',
      `the key store is locked by ${who}, another machine, whose liveness cannot be checked from here ` +
        `(${lockPath}); nothing was written. The file store's lock works on one machine's local file ` +
        'system; remove the lock file by hand only once that process has ended',
    )
  }
  if (holder.socket === undefined) {
    return new KeyStoreError(
      'ERR_KEY_STORE_LOCKED',
      `the key store is locked by ${who}, a lock written by an older release (${lockPath}); nothing was written`,
    )
  }
  return new KeyStoreError(
    'ERR_KEY_STORE_LOCKED',
    `the key store is locked by ${who}, which is still running (${lockPath}); nothing was written. ` +
      'The lock is released when that write ends or its process exits (a paused process keeps it)',
  )
}

/**
 * Deletes what writers killed while they waited for the lock leave beside it (a killed holder's
 * socket goes with its lock): sockets that refuse connections, and the lock's own temporary and
 * set-aside files. Only entries over a minute old: a live writer creates and removes those within
 * milliseconds, and a socket file exists a moment before it listens; a live one must never lose its proof.
 */
export async function removeLockDebris(lockPath: string): Promise<void> {
  const dir = dirname(lockPath)
  const prefix = escapeRegExp(basename(lockPath))
  const socket = new RegExp(`^${prefix}\\.[0-9a-f]+\\.sock$`)
  const leftover = new RegExp(`^${prefix}(?:\\.break)?\\.[0-9a-f-]{36}\\.(?:tmp|stale)$`)
  try {
    for (const name of await readdir(dir)) {
      if (!socket.test(name) && !leftover.test(name)) continue
      const path = join(dir, name)
      const stat = await lstat(path).catch(() => undefined)
      if (stat === undefined || Date.now() - stat.mtimeMs < 60_000) continue
      if (stat.isSocket() ? !(await probe(dir, name)) : leftover.test(name))
        await unlink(path).catch(() => {})
    }
  } catch {
    // best effort: the next good write tries again
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** The holder's proof of life: a Unix socket in the lock's folder, accepting and closing connections. */
async function listenForProbes(dir: string, name: string): Promise<{ close(): Promise<void> }> {
  const address = await socketAddress(dir, name)
  const server: Server = createServer((connection) => connection.destroy())
  try {
    await new Promise<void>((listening, failed) => {
      server.once('error', failed)
      server.listen(address.path, () => listening())
    })
  } catch (cause) {
    await address.done()
    throw new KeyStoreError(
      'ERR_KEY_STORE_IO',
      `cannot create the lock's socket in ${dir}: the key store must be on a local file system`,
      { cause },
    )
  }
  server.unref()
  return {
    async close() {
      await new Promise<void>((closed) => server.close(() => closed()))
      await unlink(join(dir, name)).catch(() => {})
      await address.done()
    },
  }
}

/** True unless connecting to the holder's socket is refused (no listener) or it is gone. */
async function probe(dir: string, name: string): Promise<boolean> {
  const address = await socketAddress(dir, name)
  try {
    return await new Promise<boolean>((answer) => {
      const socket = createConnection(address.path)
      // A listener that cannot even refuse is alive (a full backlog): never guess it dead.
      const timer = setTimeout(() => {
        socket.destroy()
        answer(true)
      }, 1000)
      socket.once('connect', () => {
        clearTimeout(timer)
        socket.destroy()
        answer(true)
      })
      socket.once('error', (error) => {
        clearTimeout(timer)
        const code = errorCode(error)
        answer(code !== 'ECONNREFUSED' && code !== 'ENOENT')
      })
    })
  } finally {
    await address.done()
  }
}

/** Unix socket paths are limited to about 100 bytes; past that, Linux reaches the folder by descriptor. */
const MAX_SOCKET_PATH = 100

async function socketAddress(dir: string, name: string): Promise<{ path: string; done(): Promise<void> }> {
  const direct = join(dir, name)
  if (Buffer.byteLength(direct) <= MAX_SOCKET_PATH) return { path: direct, done: async () => {} }
  if (process.platform !== 'linux') {
    throw new KeyStoreError(
      'ERR_KEY_STORE_IO',
      `the key store's folder path is too long for its lock: ${dir}`,
    )
  }
  let folder: FileHandle
  try {
    folder = await open(dir, 'r')
  } catch (cause) {
    throw new KeyStoreError('ERR_KEY_STORE_IO', `cannot open the key store's folder ${dir}`, { cause })
  }
  return { path: `/proc/self/fd/${folder.fd}/${name}`, done: () => folder.close() }
}

let machine: string | undefined
/** The kernel's boot id (shared by every container on one machine), else the host name. */
function machineId(): string {
  if (machine === undefined) {
    try {
      machine = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    } catch {
      machine = hostname()
    }
  }
  return machine
}

function parseHolder(text: string): Holder | undefined {
  let value: Record<string, unknown>
  try {
    value = JSON.parse(text) as Record<string, unknown>
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const { pid, token, host, machine, socket } = value
  if (!Number.isSafeInteger(pid) || typeof token !== 'string') return undefined
  // The socket is a name in the lock's folder, never a path elsewhere.
  if (socket !== undefined && (typeof socket !== 'string' || /[/\\]/.test(socket))) return undefined
  return {
    pid: pid as number,
    token,
    ...(typeof host === 'string' ? { host } : {}),
    ...(typeof machine === 'string' ? { machine } : {}),
    ...(typeof socket === 'string' ? { socket } : {}),
  }
}

export function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined
}

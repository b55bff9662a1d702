import { randomUUID } from 'node:crypto'
import { link, lstat, readFile, rename, unlink, writeFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { KeyStoreError } from '../key-store-error.js'

export interface FileLockOptions {
  /** Give up after waiting this long for another holder. */
  readonly timeoutMs: number
  /** A lock older than this is broken even when its process seems alive. */
  readonly staleMs: number
}

/**
 * Runs `fn` while holding a cross-process lock: a file, created whole (see `createLock`), that names its holder's
 * pid. A lock whose process is dead, or older than `staleMs`, is broken: it is first renamed aside
 * and checked to be the very lock judged stale, so a fresh lock is never deleted by mistake.
 */
export async function withFileLock<T>(lockPath: string, options: FileLockOptions, fn: () => Promise<T>) {
  const token = `${process.pid}:${randomUUID()}`
  const deadline = Date.now() + options.timeoutMs
  for (;;) {
    try {
      await createLock(lockPath, JSON.stringify({ pid: process.pid, token, at: new Date().toISOString() }))
      break
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') {
        throw new KeyStoreError('ERR_KEY_STORE_IO', `cannot create the lock file ${lockPath}`, {
          cause: error,
        })
      }
      if (await breakIfStale(lockPath, options.staleMs)) continue
      if (Date.now() > deadline) {
        throw new KeyStoreError(
          'ERR_KEY_STORE_LOCKED',
          `the key store is locked by another process (${lockPath})`,
        )
      }
      await sleep(5 + Math.random() * 20)
    }
  }
  try {
    return (await fn()) as T
  } finally {
    await release(lockPath, token)
  }
}

/**
 * Creates the lock file with its content in one step: the content goes to a private temporary file
 * that is then hard-linked to the lock's name (which fails with EEXIST when the lock is held). A
 * process killed at any point leaves either no lock or a whole one naming its pid, never an empty
 * lock file that only age could break.
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
    if (holder(text)?.token === token) await unlink(lockPath)
  } catch {
    // gone already: broken as stale by another process
  }
}

async function breakIfStale(lockPath: string, staleMs: number): Promise<boolean> {
  let text: string
  let mtimeMs: number
  try {
    text = await readFile(lockPath, 'utf8')
    mtimeMs = (await lstat(lockPath)).mtimeMs
  } catch (error) {
    return errorCode(error) === 'ENOENT' // released meanwhile: try again at once
  }
  const info = holder(text)
  // Locks are created whole, so one that names no holder is debris (a crash, a stray edit): stale.
  const dead = info === undefined || !isAlive(info.pid)
  if (!dead && Date.now() - mtimeMs <= staleMs) return false
  const aside = `${lockPath}.${randomUUID()}.stale`
  try {
    await rename(lockPath, aside)
  } catch {
    return true
  }
  try {
    if ((await readFile(aside, 'utf8')) !== text) {
      // A fresh lock took the stale one's place between the read and the rename: put it back.
      await link(aside, lockPath).catch(() => {})
      return false
    }
    return true
  } finally {
    await unlink(aside).catch(() => {})
  }
}

function holder(text: string): { pid: number; token: string } | undefined {
  try {
    const value = JSON.parse(text) as { pid?: unknown; token?: unknown }
    if (Number.isSafeInteger(value.pid) && typeof value.token === 'string') {
      return { pid: value.pid as number, token: value.token }
    }
  } catch {
    // garbage
  }
  return undefined
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return errorCode(error) === 'EPERM'
  }
}

export function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined
}

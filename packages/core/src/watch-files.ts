import { type FSWatcher, statSync, watch } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'

export interface FileWatcher {
  close(): void
}

export interface WatchFilesOptions {
  /**
   * Check this long after the first change event (a burst of events is one check). Counted from
   * the first event, not restarted by later ones: a busy folder cannot delay a check. Default 50 ms.
   */
  readonly debounceMs?: number
  /** Also check every this many ms, for file systems where change events are lost. Default 500 ms. */
  readonly pollMs?: number
}

/**
 * Calls `onChange` when any of the files changes: written in place, replaced by rename (atomic
 * writers), or swapped by a symlink flip (Kubernetes secret volumes). It watches the parent folders
 * and compares each file's identity (device, inode, size, mtime), so it never fires on a touch of an
 * unrelated file, and an unrelated file written all the time (an audit log beside the watched file)
 * never delays the check: it comes at most `debounceMs` after the first event. The watcher does not
 * keep the process alive.
 */
export function watchFiles(
  files: readonly string[],
  onChange: () => void,
  options: WatchFilesOptions = {},
): FileWatcher {
  const paths = files.map((file) => resolve(file))
  const debounceMs = options.debounceMs ?? 50
  let last = paths.map(signature).join('|')
  let timer: NodeJS.Timeout | undefined
  let closed = false

  const check = () => {
    timer = undefined
    if (closed) return
    const next = paths.map(signature).join('|')
    if (next === last) return
    last = next
    onChange()
  }
  const schedule = () => {
    if (timer) return // a check is already due: later events join it
    timer = setTimeout(check, debounceMs)
    timer.unref()
  }

  const watchers: FSWatcher[] = []
  for (const dir of new Set(paths.map((path) => dirname(path)))) {
    try {
      const watcher = watch(dir, { persistent: false }, schedule)
      watcher.on('error', () => {}) // the poll below still covers this folder
      watchers.push(watcher)
    } catch {
      // a folder that cannot be watched is still polled
    }
  }
  const poll = setInterval(schedule, options.pollMs ?? 500)
  poll.unref()

  return {
    close() {
      closed = true
      clearInterval(poll)
      if (timer) clearTimeout(timer)
      for (const watcher of watchers) watcher.close()
    },
  }
}

function signature(path: string): string {
  try {
    const stat = statSync(path)
    return `${basename(path)}:${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}`
  } catch {
    return `${basename(path)}:missing`
  }
}

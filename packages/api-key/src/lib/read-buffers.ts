import { readSync } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'

/** The two buffers a watching file store reads its file into, in turn. */
export interface ReadBuffers {
  /** Reads the first `size` bytes of an open file into the buffer that does not hold `keep`. */
  read(handle: FileHandle, size: number, keep: Buffer | undefined): Promise<Buffer>
  /** {@link ReadBuffers.read}, blocking: for the first load, at startup. */
  readSync(fd: number, size: number, keep: Buffer | undefined): Buffer
}

/**
 * Two buffers, reused: one holds the last file parsed, whose bytes the next reload compares with
 * the new file's record by record; the other takes the next read. Reading each reload into a new
 * buffer of the file's size (48 MB at 100 000 keys) started a garbage collection at every reload:
 * V8 counts such a buffer as external memory, and its growth set off scavenges ("external memory
 * pressure", 2 to 20 ms) and a mark-compact whose steps and final pause held the event loop for up
 * to 18 ms (seen with `--trace-gc`, bench/RESULTS.md "Key store"). Both buffers are made at the
 * first read, at startup, an eighth larger than the file; a buffer is made again only when the
 * file outgrows it. The caller makes sure no read starts while the other buffer is still in use:
 * the store runs one background load at a time and keeps `keep` as the last file parsed.
 */
export function readBuffers(): ReadBuffers {
  const slots: (Buffer | undefined)[] = [undefined, undefined]
  const spare = (size: number, keep: Buffer | undefined): Buffer => {
    const index = keep !== undefined && keep.buffer === slots[0]?.buffer ? 1 : 0
    if (slots[index] === undefined || slots[index].length < size)
      slots[index] = Buffer.allocUnsafe(roomFor(size))
    // The other one at the first read too, so that the next read (the first reload) makes none.
    slots[1 - index] ??= Buffer.allocUnsafe(roomFor(size))
    return slots[index]
  }
  return {
    async read(handle, size, keep) {
      const into = spare(size, keep)
      let length = 0
      while (length < size) {
        const { bytesRead } = await handle.read(into, length, size - length, length)
        if (bytesRead === 0) break
        length += bytesRead
      }
      return into.subarray(0, length)
    },
    readSync(fd, size, keep) {
      const into = spare(size, keep)
      let length = 0
      while (length < size) {
        const bytesRead = readSync(fd, into, length, size - length, length)
        if (bytesRead === 0) break
        length += bytesRead
      }
      return into.subarray(0, length)
    },
  }
}

/** An eighth more than `size` (and at least 64 KiB), so that a growing store seldom needs a new buffer. */
function roomFor(size: number): number {
  return Math.max(64 * 1024, Math.ceil(size * 1.125))
}

import { closeSync, openSync } from 'node:fs'
import { open, writeFile } from 'node:fs/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readBuffers } from '../src/lib/read-buffers.js'
import { tempDir } from './support.js'

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeEach(async () => {
  tmp = await tempDir()
})
afterEach(async () => {
  await tmp.remove()
})

/** `size` bytes that differ from one `fill` to the next. */
const content = (size: number, fill: number) =>
  Buffer.from(Array.from({ length: size }, (_, i) => (i * 7 + fill) % 256))

describe('readBuffers', () => {
  const read = async (buffers: ReturnType<typeof readBuffers>, path: string, keep: Buffer | undefined) => {
    const handle = await open(path, 'r')
    try {
      return await buffers.read(handle, (await handle.stat()).size, keep)
    } finally {
      await handle.close()
    }
  }

  it('reads each file into the buffer that does not hold the last one, leaving the last one as it was', async () => {
    const path = tmp.file('store')
    const buffers = readBuffers()
    const files = [0, 1, 2, 3, 4].map((fill) => content(200_000, fill))
    const seen: Buffer[] = []
    let last: Buffer | undefined
    for (const file of files) {
      await writeFile(path, file)
      const bytes = await read(buffers, path, last)
      expect(bytes.equals(file)).toBe(true)
      if (last) expect(bytes.buffer).not.toBe(last.buffer)
      seen.push(bytes)
      last = bytes
    }
    // the file before the last is still there, whole, for the next comparison
    expect(seen.at(-2)!.equals(files.at(-2)!)).toBe(true)
    // two buffers, made at the first read, and no other
    expect(new Set(seen.map((bytes) => bytes.buffer)).size).toBe(2)
  })

  it('makes a buffer again only when the file outgrows it, and reads the whole larger file', async () => {
    const path = tmp.file('store')
    const buffers = readBuffers()
    await writeFile(path, content(100_000, 1))
    const first = await read(buffers, path, undefined)
    await writeFile(path, content(110_000, 2)) // within the eighth of room
    const second = await read(buffers, path, first)
    const third = await read(buffers, path, second)
    expect(third.buffer).toBe(first.buffer)
    const larger = content(1_000_000, 3)
    await writeFile(path, larger)
    const fourth = await read(buffers, path, third)
    expect(fourth.equals(larger)).toBe(true)
    expect(fourth.buffer).not.toBe(second.buffer)
    expect(third.equals(content(110_000, 2))).toBe(true)
  })

  it('reads as much as the file holds when it is shorter than the size asked (truncated meanwhile)', async () => {
    const path = tmp.file('store')
    await writeFile(path, content(1000, 4))
    const handle = await open(path, 'r')
    try {
      expect((await readBuffers().read(handle, 5000, undefined)).equals(content(1000, 4))).toBe(true)
    } finally {
      await handle.close()
    }
  })

  it('reads blocking at startup into the same two buffers', async () => {
    const path = tmp.file('store')
    const buffers = readBuffers()
    await writeFile(path, content(300_000, 5))
    const fd = openSync(path, 'r')
    let first: Buffer
    try {
      first = buffers.readSync(fd, 300_000, undefined)
    } finally {
      closeSync(fd)
    }
    expect(first.equals(content(300_000, 5))).toBe(true)
    await writeFile(path, content(300_000, 6))
    const second = await read(buffers, path, first)
    expect(second.buffer).not.toBe(first.buffer)
    expect(first.equals(content(300_000, 5))).toBe(true)
    expect((await read(buffers, path, second)).buffer).toBe(first.buffer)
  })
})

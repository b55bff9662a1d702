/**
 * What `work` settles to, or `late()` once `ms` pass first. One plain timer per call, cleared as
 * soon as `work` settles: it keeps the process alive only while something still waits on it.
 *
 * @example
 * const outcome = await withDeadline(verifying, 10_000, () => timedOut())
 */
export function withDeadline<T>(work: Promise<T>, ms: number, late: () => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => resolve(late()), ms)
    work.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}

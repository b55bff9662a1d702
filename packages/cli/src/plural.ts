/** `1 credential`, `2 credentials`; `one` and `many` when the plural is not just an `s`. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`
}

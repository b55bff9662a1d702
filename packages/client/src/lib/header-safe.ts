/** A credential that can travel in `Authorization: Bearer …`: visible ASCII, no spaces, at most 8 KiB. */
const TOKEN68ISH = /^[\x21-\x7e]{1,8192}$/

export function isHeaderSafe(value: string): boolean {
  return TOKEN68ISH.test(value)
}

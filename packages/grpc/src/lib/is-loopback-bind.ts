/** True for a loopback or Unix-socket bind address (`127.0.0.1:0`, `[::1]:50051`, `localhost:0`, `unix:…`). */
export function isLoopbackBind(port: string): boolean {
  if (port.startsWith('unix:') || port.startsWith('unix-abstract:')) return true
  const host = /^(?:ipv[46]:)?(?:\[([^\]]+)\]|([^:]+)):\d+$/.exec(port)
  const name = (host?.[1] ?? host?.[2] ?? '').toLowerCase()
  return name === 'localhost' || name === '::1' || /^127(?:\.\d{1,3}){3}$/.test(name)
}

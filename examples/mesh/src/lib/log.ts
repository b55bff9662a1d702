/** One log line on stdout, JSON, with the service name: who called and what happened, never a credential. */
export function logger(service: string) {
  return (message: string, fields: Record<string, unknown> = {}) =>
    process.stdout.write(
      `${JSON.stringify({ time: new Date().toISOString(), service, message, ...fields })}\n`,
    )
}

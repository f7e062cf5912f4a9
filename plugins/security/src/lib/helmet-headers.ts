/**
 * The security headers helmet would set, computed once: helmet's middleware runs at startup against a
 * recording response, so each request only copies a frozen object (measured: @fastify/helmet runs the
 * middleware chain on every request). Pure: imports nothing from Fastify.
 */
type HelmetMiddleware = (req: object, res: object, next: (error?: unknown) => void) => void

export function recordHelmetHeaders (middleware: HelmetMiddleware): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {}
  const res = {
    setHeader (name: string, value: string | number | readonly string[]): void {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value)
    },
    removeHeader (name: string): void {
      // X-Powered-By: Fastify never sends it.
      delete headers[name.toLowerCase()]
    }
  }
  let failure: unknown = null
  middleware({}, res, (error) => { failure = error ?? null })
  if (failure !== null) throw failure
  return Object.freeze(headers)
}

/**
 * What the security tests share: an app with the plugin (a fixed secret, rate limits off unless asked
 * for), a raw HTTP/1.1 client over `node:net` for what `inject` cannot send (duplicate Host headers,
 * absolute-form targets, un-normalised paths), and cookie helpers.
 */
import { connect } from 'node:net'
import type { Test } from 'tap'
import Fastify, { type FastifyInstance, type FastifyServerOptions, type LightMyRequestResponse } from 'fastify'
import nexSecurity, { type SecurityOptions } from '../src/index.js'

export const SECRET = 'test-secret-0123456789abcdef-0123456789'

export interface BuildOptions {
  fastify?: FastifyServerOptions
  /** Routes registered before the plugin (the plugin must cover them too). */
  before?: (app: FastifyInstance) => unknown
  /** Routes registered after the plugin. */
  routes?: (app: FastifyInstance) => unknown
}

/** An app with @nex/security (`secret` set, `rateLimit: false` unless given) and routes; closed by `t`'s teardown. */
export async function build (t: Test, options: SecurityOptions = {}, { fastify = {}, before, routes }: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(fastify)
  t.teardown(async () => await app.close())
  before?.(app)
  await app.register(nexSecurity, { secret: SECRET, rateLimit: false, ...options })
  await routes?.(app)
  await app.ready()
  return app
}

/** Starts `app` on a free loopback port; resolves to the port. */
export async function listen (app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  return (app.server.address() as { port: number }).port
}

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * Sends `head` (request line and headers, `\r\n`-separated, without the blank line) plus
 * `Connection: close` over a fresh socket, and parses the one response.
 */
export async function rawRequest (port: number, head: string): Promise<RawResponse> {
  return await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let text = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => { text += chunk })
    socket.on('error', reject)
    socket.on('end', () => {
      const split = text.indexOf('\r\n\r\n')
      const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n')
      const headers: Record<string, string> = {}
      for (const line of lines) {
        const colon = line.indexOf(':')
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: text.slice(split + 4) })
    })
    socket.write(`${head}\r\nConnection: close\r\n\r\n`)
  })
}

/** The `name=value` pairs of a response's `Set-Cookie` headers, for a `cookie` request header. */
export function cookieHeader (response: LightMyRequestResponse): string {
  return response.cookies.map(({ name, value }) => `${name}=${value}`).join('; ')
}

/** The JSON body of a response. */
export function json (response: LightMyRequestResponse): Record<string, unknown> {
  return response.json() as Record<string, unknown>
}

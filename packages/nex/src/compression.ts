/**
 * nexCompression: br and gzip for responses over `threshold`, through @fastify/compress, behind a
 * cheap check so the responses that are not compressed cost (almost) nothing.
 *
 * @fastify/compress adds an `onSend` hook to every route, and that hook reads the headers and negotiates
 * `Accept-Encoding` before it looks at the size. Here each route's copy is wrapped, once, at startup
 * (`onRoute`), in a check that sends the payload on untouched when it is:
 * - missing, or a string or buffer shorter than `threshold`, or a stream whose `Content-Length` is (a
 *   static file);
 * - asked for without `Accept-Encoding`;
 * - a 204 or 304;
 * - already encoded (`Content-Encoding`, e.g. a pre-compressed static file);
 * - marked `Cache-Control: no-transform`;
 * - `text/event-stream` (SSE replies are hijacked and never reach `onSend`; this guards raw ones).
 * Everything else goes to @fastify/compress: compressible types only (not `application/octet-stream`),
 * br (quality 4) or gzip by `Accept-Encoding`, `Vary: Accept-Encoding`, no `Range` responses.
 * Request bodies are not decompressed (no `preParsing` hook): htmx forms are never compressed.
 *
 * Route option `compress: false` leaves a route out, `compress: { … }` gives it its own settings
 * (@fastify/compress's route options). Only routes added after this plugin are compressed.
 *
 * Wrapped in fastify-plugin: the hooks apply to the routes of the whole app.
 */
import { constants as zlibConstants } from 'node:zlib'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import fastifyCompress from '@fastify/compress'
import { normalizeCompressionOptions, type CompressionOptions } from './compression-options.js'

type OnSend = (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (error: Error | null, payload?: unknown) => void) => void

/** Compressible content types: text (not SSE), JSON, XML, JavaScript; mime-db decides the rest. */
const COMPRESSIBLE = /^text\/(?!event-stream)|[+/](?:json|xml|javascript)(?:;|$)/

function hooksOf (value: unknown): OnSend[] {
  if (value === undefined || value === null) return []
  return Array.isArray(value) ? [...value as OnSend[]] : [value as OnSend]
}

function headerText (value: unknown): string {
  if (typeof value === 'string') return value
  return Array.isArray(value) ? value.join(', ') : ''
}

/** Whether the response must be sent as it is, decided from what is cheapest to read first. */
function leaveAlone (request: FastifyRequest, reply: FastifyReply, payload: unknown, threshold: number): boolean {
  if (payload === null || payload === undefined) return true
  if (typeof payload === 'string' || Buffer.isBuffer(payload)) {
    if (payload.length < threshold) return true
  } else {
    const length = reply.getHeader('content-length')
    if (length !== undefined && Number(length) < threshold) return true
  }
  if (request.headers['accept-encoding'] === undefined) return true
  const status = reply.statusCode
  if (status === 204 || status === 304) return true
  const encoding = reply.getHeader('content-encoding')
  if (encoding !== undefined && encoding !== 'identity') return true
  if (headerText(reply.getHeader('cache-control')).includes('no-transform')) return true
  return headerText(reply.getHeader('content-type')).startsWith('text/event-stream')
}

function gate (compress: OnSend, threshold: number): OnSend {
  return function compressLargeResponses (request, reply, payload, done) {
    if (leaveAlone(request, reply, payload, threshold)) {
      done(null, payload)
      return
    }
    compress.call(this, request, reply, payload, done)
  }
}

async function plugin (fastify: FastifyInstance, options: CompressionOptions): Promise<void> {
  const { threshold, encodings, brotliQuality, gzipLevel } = normalizeCompressionOptions(options)

  // What each route had before @fastify/compress's onRoute hook ran, to find the hook it adds.
  const before = new WeakMap<object, OnSend[]>()
  fastify.addHook('onRoute', function rememberOnSend (route) {
    before.set(route, hooksOf(route.onSend))
  })

  await fastify.register(fastifyCompress, {
    encodings: [...encodings],
    threshold,
    brotliOptions: { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: brotliQuality } },
    zlibOptions: { level: gzipLevel },
    customTypes: COMPRESSIBLE,
    globalDecompression: false
  })

  fastify.addHook('onRoute', function gateCompression (route: RouteOptions & { compress?: unknown }) {
    const earlier = before.get(route) ?? []
    before.delete(route)
    const hooks = hooksOf(route.onSend)
    const added = hooks.filter((hook) => !earlier.includes(hook))
    // None: `compress: false`. More than one: not the @fastify/compress we know, so leave it be.
    if (added.length !== 1) return
    const compress = added[0] as OnSend
    const own = route.compress as { threshold?: unknown } | undefined
    const routeThreshold = typeof own?.threshold === 'number' ? own.threshold : threshold
    route.onSend = hooks.map((hook) => hook === compress ? gate(compress, routeThreshold) : hook) as RouteOptions['onSend']
  })
}

export const nexCompression = fp(plugin, { fastify: '5.x', name: 'nex-compression' })
export default nexCompression

export { COMPRESSION_DEFAULTS } from './compression-options.js'
export type { CompressionOptions, CompressionEncoding } from './compression-options.js'

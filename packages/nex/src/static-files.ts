/**
 * nexStatic: the app's `public/` folder through @fastify/static, with safe defaults.
 *
 * - `dotfiles: 'ignore'`: `/.env`, `/.git/config` and `/sub/.hidden` are 404 (@fastify/static's default,
 *   'allow', served them with 200). No directory listing, no index file unless `index` names one, no
 *   trailing-slash redirects, no `reply.sendFile` decorator (an app that wants it registers
 *   @fastify/static itself, and two decorators would clash).
 * - One route per file found at startup (`wildcard: false`): unknown URLs never touch the disk and reach
 *   the app's not-found handler; the route table is fixed at boot, so nothing grows with the paths
 *   clients ask for (MEM-03). Traversal (`..`, `%2e%2e`, `%2f`, `%5c`, `%00`) matches no route: 404.
 *   With `wildcard: true` @fastify/static's guards answer 403 or 404 instead.
 * - ETag and Last-Modified (304 on `If-None-Match`/`If-Modified-Since`); `Cache-Control:
 *   public, max-age=31536000, immutable` for fingerprinted names (`app.3f9a1c2e.js`, see `immutable`),
 *   `public, max-age=0, must-revalidate` for the rest.
 * - Errors (403 from the wildcard guards, read failures) go to the app's error handler (nexErrors).
 *
 * A missing folder serves nothing (logged at info): the preset registers this for every app, with or
 * without `public/`. A path that is not a folder fails at register.
 *
 * Wrapped in fastify-plugin so the routes belong to the root (its hooks, error and not-found handlers).
 */
import { stat } from 'node:fs/promises'
import { basename } from 'node:path'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import fastifyStatic from '@fastify/static'
import { FST_NEX_STATIC_INVALID_OPTION } from './app-errors.js'
import { normalizeStaticOptions, type StaticOptions } from './static-files-options.js'
import { createCacheControl } from './lib/fingerprint.js'

async function folderExists (root: string): Promise<boolean> {
  try {
    if ((await stat(root)).isDirectory()) return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw error
  }
  throw new FST_NEX_STATIC_INVALID_OPTION('root', 'a folder', JSON.stringify(root))
}

async function plugin (fastify: FastifyInstance, options: StaticOptions): Promise<void> {
  const { root, prefix, wildcard, index, immutable, maxAge, preCompressed } = normalizeStaticOptions(options)
  if (!await folderExists(root)) {
    fastify.log.info({ root }, 'nex-static: %s does not exist; no static files are served', root)
    return
  }
  const cacheControl = createCacheControl(immutable, maxAge)
  await fastify.register(fastifyStatic, {
    root,
    prefix,
    wildcard,
    index: index === false ? false : [...index],
    dotfiles: 'ignore',
    serveDotFiles: false,
    list: false,
    redirect: false,
    decorateReply: false,
    etag: true,
    lastModified: true,
    // send's own header cannot say must-revalidate; setHeaders writes the whole value.
    cacheControl: false,
    preCompressed,
    setHeaders (reply, path) {
      reply.header('cache-control', cacheControl(basename(path)))
    }
  })
}

export const nexStatic = fp(plugin, { fastify: '5.x', name: 'nex-static' })
export default nexStatic

export { FINGERPRINTED } from './lib/fingerprint.js'
export { STATIC_DEFAULTS } from './static-files-options.js'
export type { StaticOptions } from './static-files-options.js'

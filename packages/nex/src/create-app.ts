/**
 * `createApp()`: the hardened server of `createServer()` with the `nex` preset registered, in one call.
 * `serve(await createApp({ dir: import.meta.dirname }))` is a production app.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { createServer } from './create-server.js'
import type { NexServerOptions } from './server-options.js'
import { nex } from './preset.js'
import type { NexOptions } from './preset-options.js'

export interface CreateAppOptions extends NexOptions {
  /** Server options for `createServer()` (logger, timeouts, TLS, trustProxy…). @default hardenedDefaults */
  server?: NexServerOptions
}

export async function createApp (options: CreateAppOptions): Promise<FastifyInstance> {
  const { server, ...preset } = options
  const app = createServer(server) as unknown as FastifyInstance
  await app.register(nex, preset)
  return app
}

/**
 * The app secret for a single-machine deployment: `NEX_SECRET` when set; in production without it, a
 * random secret kept in `file` (created with mode 0600 on first start, so restarts keep sessions and page
 * ids valid); in development undefined (each plugin then uses a per-process secret). Several processes or
 * machines must share one `NEX_SECRET` instead.
 */
export function appSecret (file: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.NEX_SECRET !== undefined && env.NEX_SECRET !== '') return env.NEX_SECRET
  if (env.NODE_ENV !== 'production') return undefined
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' })
  return readFileSync(file, 'utf8').trim()
}

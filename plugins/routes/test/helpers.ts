import { fileURLToPath } from 'node:url'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import nexState from '@nex/state'
import nexRoutes, { type RoutesOptions } from '../src/index.js'

export const SECRET = 'test-secret-that-is-long-enough-0123456789'

export function fixture (name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))
}

/** An app with @nex/state and @nex/routes on a fixture tree, closed after the test. */
export async function buildApp (t: Test, name: string, options: Partial<RoutesOptions> = {}, withState = true): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(async () => await app.close())
  if (withState) await app.register(nexState, { secret: SECRET })
  await app.register(nexRoutes, { dir: fixture(name), ...options })
  await app.ready()
  return app
}

/** The page id a full page carries. */
export function pageIdOf (body: string): string {
  const match = /data-nex-page-id="([^"]+)"/.exec(body)
  if (match === null) throw new Error(`no page id in: ${body.slice(0, 200)}`)
  return match[1] as string
}

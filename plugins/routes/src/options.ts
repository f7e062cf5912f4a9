/**
 * Options of @nex/routes, checked once at registration.
 */
import { existsSync, statSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import { InvalidOptionError } from './errors.js'
import { createModuleLoader, type ModuleLoader } from './loader.js'

export interface RoutesOptions {
  /** Absolute path of the folder holding `pages/`, `api/` and `partials/` (usually `src`). Required. */
  dir: string
  /** URL prefix every route is mounted below, e.g. `/app`. Default `''`. */
  prefix?: string
  /**
   * Development mode: error pages show the message and stack. Default: `NODE_ENV !== 'production'`.
   */
  dev?: boolean
  /** Largest body a page action accepts, in bytes. Default 65 536 (64 KiB). */
  actionBodyLimit?: number
  /** Serve htmx and the Nex client script below `<prefix>/_nex/`. Default true. */
  assets?: boolean
  /**
   * The npm package whose `dist/` is served as htmx, resolved from `dir`. Default `'htmx.org'` (htmx 4);
   * an alias such as `"htmx2": "npm:htmx.org@2"` serves htmx 2 instead.
   */
  htmx?: string
  /** Install a not-found handler for the prefix that renders `pages/_404`. Default true. */
  notFound?: boolean
  /** The module loader (live reload passes its own). Default: a jiti-based loader. */
  loader?: ModuleLoader
}

export interface NormalizedRoutesOptions {
  readonly dir: string
  readonly prefix: string
  readonly dev: boolean
  readonly actionBodyLimit: number
  readonly assets: boolean
  readonly htmx: string
  readonly notFound: boolean
  readonly loader: ModuleLoader
}

export const DEFAULTS = Object.freeze({
  prefix: '',
  actionBodyLimit: 65_536,
  assets: true,
  htmx: 'htmx.org',
  notFound: true
})

export function normalizeOptions (options: RoutesOptions): NormalizedRoutesOptions {
  const { dir } = options
  if (typeof dir !== 'string' || !isAbsolute(dir)) {
    throw new InvalidOptionError('dir', JSON.stringify(dir), 'pass the absolute path of your src folder, e.g. fileURLToPath(new URL(\'./src\', import.meta.url))')
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new InvalidOptionError('dir', JSON.stringify(dir), 'no such folder; it should hold pages/ and api/')
  }
  let prefix = options.prefix ?? DEFAULTS.prefix
  if (typeof prefix !== 'string' || (prefix !== '' && !/^(\/[\w.~-]+)+\/?$/.test(prefix))) {
    throw new InvalidOptionError('prefix', JSON.stringify(prefix), 'use \'\' or a path such as \'/app\'')
  }
  if (prefix.endsWith('/')) prefix = prefix.slice(0, -1)
  const actionBodyLimit = options.actionBodyLimit ?? DEFAULTS.actionBodyLimit
  if (!Number.isSafeInteger(actionBodyLimit) || actionBodyLimit <= 0) {
    throw new InvalidOptionError('actionBodyLimit', String(actionBodyLimit), 'use a positive number of bytes')
  }
  for (const name of ['dev', 'assets', 'notFound'] as const) {
    const value = options[name]
    if (value !== undefined && typeof value !== 'boolean') {
      throw new InvalidOptionError(name, JSON.stringify(value), 'use true or false')
    }
  }
  const htmx = options.htmx ?? DEFAULTS.htmx
  if (typeof htmx !== 'string' || htmx === '') {
    throw new InvalidOptionError('htmx', JSON.stringify(htmx), 'name an npm package that ships htmx in dist/')
  }
  const loader = options.loader ?? createModuleLoader({ base: dir })
  if (typeof loader?.import !== 'function') {
    throw new InvalidOptionError('loader', typeof loader, 'pass an object with import(file) and reload(file)')
  }
  return Object.freeze({
    dir,
    prefix,
    dev: options.dev ?? process.env.NODE_ENV !== 'production',
    actionBodyLimit,
    assets: options.assets ?? DEFAULTS.assets,
    htmx,
    notFound: options.notFound ?? DEFAULTS.notFound,
    loader
  })
}

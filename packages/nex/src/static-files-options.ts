/** Options of the nexStatic plugin: defaults, validation at register time, freezing. */
import { isAbsolute, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FST_NEX_STATIC_INVALID_OPTION } from './app-errors.js'
import { describe } from './health-options.js'
import { FINGERPRINTED } from './lib/fingerprint.js'

export interface StaticOptions {
  /** The folder served: a path (relative ones from the working directory) or a `file:` URL. @default '<cwd>/public' */
  root?: string | URL
  /** URL prefix the files are served below, e.g. `'/static'`. @default '/' */
  prefix?: string
  /**
   * `false`: one route per file found at startup. A URL that is not a file never touches the disk and
   * goes to the app's not-found handler; files added later need a restart. `true`: one wildcard route
   * under `prefix` that looks every request up on disk (files added later are served; unknown URLs cost
   * a `stat`; a wildcard at `/` takes every URL no other route matches, and clashes with a catch-all page
   * at the root). Neither keeps anything keyed by request paths. @default false
   */
  wildcard?: boolean
  /** Files served for a folder URL ending in `/` (e.g. `['index.html']`), or `false` for none. @default false */
  index?: string | readonly string[] | false
  /**
   * File names (the last path segment) that carry a content hash, served with
   * `Cache-Control: public, max-age=31536000, immutable`; `false` for none. The default matches a `.` or
   * `-` followed by 8–64 letters, digits or `_` (at least one of each kind) before the extension(s):
   * `app.3f9a1c2e.js`, `index-BxK3a9_Z.css`, `main.8d5e0f1a2b3c.min.js`; not `app.settings.js` or
   * `jquery-3.7.1.min.js`. @default FINGERPRINTED
   */
  immutable?: RegExp | false
  /**
   * `max-age` in seconds of the other files: `Cache-Control: public, max-age=<maxAge>, must-revalidate`
   * (with the default 0, caches ask again each time and get a 304 while the ETag matches). @default 0
   */
  maxAge?: number
  /** Serve `x.br` or `x.gz` next to `x` when the client accepts that encoding (with `Vary: Accept-Encoding`). @default false */
  preCompressed?: boolean
}

export interface NormalizedStaticOptions {
  readonly root: string
  readonly prefix: string
  readonly wildcard: boolean
  readonly index: readonly string[] | false
  readonly immutable: RegExp | null
  readonly maxAge: number
  readonly preCompressed: boolean
}

export const STATIC_DEFAULTS = Object.freeze({
  prefix: '/',
  wildcard: false,
  index: false as const,
  immutable: FINGERPRINTED,
  maxAge: 0,
  preCompressed: false
})

const ONE_YEAR = 31_536_000

function root (value: unknown): string {
  if (value === undefined) return resolve('public')
  if (value instanceof URL && value.protocol === 'file:') return fileURLToPath(value)
  if (typeof value === 'string' && value !== '') return isAbsolute(value) ? value : resolve(value)
  throw new FST_NEX_STATIC_INVALID_OPTION('root', 'a folder path or a file: URL', describe(value))
}

function flag (value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new FST_NEX_STATIC_INVALID_OPTION(name, 'true or false', describe(value))
  return value
}

function index (value: unknown): readonly string[] | false {
  if (value === undefined || value === false) return false
  const names = typeof value === 'string' ? [value] : value
  if (!Array.isArray(names) || names.length === 0 || !names.every((name) => typeof name === 'string' && /^[^/\\]+$/.test(name))) {
    throw new FST_NEX_STATIC_INVALID_OPTION('index', 'false, a file name or a non-empty array of file names (no slashes)', describe(value))
  }
  return Object.freeze([...names as string[]])
}

export function normalizeStaticOptions (options: StaticOptions = {}): NormalizedStaticOptions {
  if (typeof options !== 'object' || options === null) {
    throw new FST_NEX_STATIC_INVALID_OPTION('options', 'an object', describe(options))
  }
  const prefix = options.prefix ?? STATIC_DEFAULTS.prefix
  if (typeof prefix !== 'string' || !/^\/[^\s?#%\\]*$/.test(prefix) || prefix.includes('//') || /(^|\/)\.\.?(\/|$)/.test(prefix)) {
    throw new FST_NEX_STATIC_INVALID_OPTION('prefix', 'a path starting with "/" (no spaces, "?", "#", "%", "\\", "//" or dot segments)', describe(prefix))
  }
  const immutable = options.immutable ?? STATIC_DEFAULTS.immutable
  if (immutable !== false && !(immutable instanceof RegExp)) {
    throw new FST_NEX_STATIC_INVALID_OPTION('immutable', 'a RegExp tested against file names, or false', describe(immutable))
  }
  if (immutable instanceof RegExp && (immutable.global || immutable.sticky)) {
    throw new FST_NEX_STATIC_INVALID_OPTION('immutable', 'a RegExp without the g or y flag (they make test() stateful)', String(immutable))
  }
  const maxAge = options.maxAge ?? STATIC_DEFAULTS.maxAge
  if (typeof maxAge !== 'number' || !Number.isSafeInteger(maxAge) || maxAge < 0 || maxAge > ONE_YEAR) {
    throw new FST_NEX_STATIC_INVALID_OPTION('maxAge', `a whole number of seconds from 0 to ${ONE_YEAR}`, describe(maxAge))
  }
  return Object.freeze({
    root: root(options.root),
    prefix,
    wildcard: flag(options.wildcard, 'wildcard', STATIC_DEFAULTS.wildcard),
    index: index(options.index),
    immutable: immutable === false ? null : immutable,
    maxAge,
    preCompressed: flag(options.preCompressed, 'preCompressed', STATIC_DEFAULTS.preCompressed)
  })
}

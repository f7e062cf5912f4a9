/**
 * Turns a route file's path (relative to `pages/` or `api/`) into Fastify URLs.
 * Pure: no file system, no Fastify. Problems are returned as messages that tell the user how to fix
 * the file name; the caller turns them into coded errors that name the file.
 */

/** How a route parameter is matched. */
export type ParamKind = 'single' | 'rest' | 'optional-rest'

export interface ParamSpec {
  name: string
  kind: ParamKind
}

export interface RoutePath {
  /** Fastify URLs, e.g. `['/users/:id']`, or `['/shop', '/shop/*']` for an optional catch-all. */
  urls: string[]
  params: ParamSpec[]
  /** The URLs with parameter names erased, used to detect two files that serve the same URLs. */
  shapes: string[]
}

/** A file name that is a special page file rather than a route. */
export type SpecialFile = '_layout' | '_404' | '_error'

export const SPECIAL_FILES: ReadonlySet<string> = new Set<SpecialFile>(['_layout', '_404', '_error'])

export const ROUTE_EXTENSIONS: readonly string[] = ['.ts', '.mts', '.js', '.mjs']

const PARAM_NAME = /^[A-Za-z_$][\w$]*$/
const STATIC_SEGMENT = /^[\w.~@!-]+$/
const GROUP = /^\(([^()/]+)\)$/

/** The file name without its route extension, or null when the file is not a route module. */
export function stripRouteExtension (fileName: string): string | null {
  if (fileName.endsWith('.d.ts') || fileName.endsWith('.d.mts')) return null
  const ext = ROUTE_EXTENSIONS.find(e => fileName.endsWith(e))
  if (ext === undefined) return null
  const base = fileName.slice(0, -ext.length)
  if (/\.(test|spec)$/.test(base)) return null
  return base
}

/** Whether a folder name is a route group, `(name)`, which is left out of the URL. */
export function isGroupFolder (name: string): boolean {
  return GROUP.test(name)
}

/**
 * Parses the segments of a route file (folders then the file's base name, extension removed).
 * Returns the route or a message explaining what is wrong.
 */
export function parseRoutePath (segments: readonly string[]): RoutePath | { error: string } {
  let url = ''
  let shape = ''
  const params: ParamSpec[] = []
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string
    const last = i === segments.length - 1
    if (isGroupFolder(segment)) {
      if (last) return { error: `a route group "${segment}" must be a folder, not a file` }
      continue
    }
    if (last && segment === 'index') continue

    const optionalRest = /^\[\[\.\.\.([^\]]*)\]\]$/.exec(segment)
    const rest = optionalRest === null ? /^\[\.\.\.([^\]]*)\]$/.exec(segment) : null
    const single = optionalRest === null && rest === null ? /^\[([^\]]*)\]$/.exec(segment) : null
    const match = optionalRest ?? rest ?? single
    if (match !== null) {
      const name = match[1] as string
      if (!PARAM_NAME.test(name)) {
        return { error: `"${segment}" has an invalid parameter name; use letters, digits and _ such as [id]` }
      }
      if (params.some(p => p.name === name)) {
        return { error: `the parameter "${name}" appears twice; give each parameter its own name` }
      }
      if (optionalRest !== null || rest !== null) {
        if (!last) {
          return { error: `the catch-all "${segment}" must be the last part of the path; move it to the file name` }
        }
        const kind: ParamKind = optionalRest !== null ? 'optional-rest' : 'rest'
        params.push({ name, kind })
        if (kind === 'optional-rest') {
          return { urls: [url === '' ? '/' : url, `${url}/*`], shapes: [shape === '' ? '/' : shape, `${shape}/*`], params }
        }
        return { urls: [`${url}/*`], shapes: [`${shape}/*`], params }
      }
      params.push({ name, kind: 'single' })
      url += `/:${name}`
      shape += '/:'
      continue
    }
    if (segment.startsWith('[[')) {
      return { error: `"${segment}" is not supported: optional parameters must be catch-alls such as [[...slug]]` }
    }
    if (segment.includes('[') || segment.includes(']')) {
      return { error: `"${segment}" mixes text and a parameter; a parameter must be a whole segment such as [id]` }
    }
    if (!STATIC_SEGMENT.test(segment)) {
      return { error: `"${segment}" has characters that are not allowed in a URL segment; use letters, digits, - _ . ~` }
    }
    url += `/${segment}`
    shape += `/${segment}`
  }
  if (url === '') return { urls: ['/'], shapes: ['/'], params }
  return { urls: [url], shapes: [shape], params }
}

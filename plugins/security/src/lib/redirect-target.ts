/**
 * Redirect targets (`Location`, `HX-Redirect`, `HX-Location`). htmx sets `location.href` from
 * `HX-Redirect` without any check, so a `javascript:` value runs and `https://evil` navigates away
 * (RELIABILITY §4.5). A target is safe when it is a path on this site (one leading `/`, not `//` or `/\`,
 * which browsers read as another host; no scheme; no control characters, also after percent-decoding), or
 * an absolute http(s) URL on an allowed origin. Pure.
 */

const CONTROL = /[\u0000-\u001f\u007f]/ // eslint-disable-line no-control-regex

/** Whether `target` is a path on this site, before and after percent-decoding. */
export function isSameOriginPath (target: string): boolean {
  if (!isSafePath(target)) return false
  if (!target.includes('%')) return true
  let decoded: string
  try {
    decoded = decodeURIComponent(target)
  } catch {
    return false
  }
  return isSafePath(decoded)
}

function isSafePath (path: string): boolean {
  if (path.length === 0 || path[0] !== '/') return false
  const second = path[1]
  if (second === '/' || second === '\\') return false
  return !CONTROL.test(path)
}

/**
 * Whether a redirect to `target` is safe: a same-origin path, or an absolute http(s) URL whose origin (as
 * the browser's URL parser reads it, so `https://good@evil` is evil) is in `allowedOrigins` (canonical
 * origins, `https://example.com`).
 */
export function isSafeRedirectTarget (target: string, allowedOrigins: ReadonlySet<string>): boolean {
  if (isSameOriginPath(target)) return true
  if (allowedOrigins.size === 0 || CONTROL.test(target) || /\s/.test(target)) return false
  let url: URL
  try {
    url = new URL(target)
  } catch {
    return false
  }
  return (url.protocol === 'https:' || url.protocol === 'http:') && allowedOrigins.has(url.origin)
}

/**
 * The target of an `HX-Location` value: the value itself, or the `path` of its JSON form
 * (`{"path": "/x", "target": "#main"}`). `null` when the JSON form is malformed or has no string path.
 */
export function hxLocationTarget (value: string): string | null {
  if (value.trimStart()[0] !== '{') return value
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    return null
  }
  if (typeof parsed !== 'object' || parsed === null) return null
  const path = (parsed as { path?: unknown }).path
  return typeof path === 'string' ? path : null
}

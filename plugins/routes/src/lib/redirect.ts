/**
 * Same-origin redirect targets. htmx sets `location.href` from `HX-Redirect` without any check, so a
 * target must be a path on this site: one leading `/`, not `//` or `/\` (which browsers read as another
 * host), no scheme and no control characters, also after percent-decoding. Pure.
 */

const CONTROL = /[\u0000-\u001f\u007f]/ // eslint-disable-line no-control-regex

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

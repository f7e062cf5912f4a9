/**
 * Whether a request wants JSON, read from its URL and `Accept` header. Pure. (Full page or htmx
 * fragment is @nex/routes' `wantsFullPage`, so pages and error answers follow the same rules.)
 */

/** `/api`, `/api/…` or `/api?…`: the URL space @nex/routes gives API files. */
export function isApiPath (url: string): boolean {
  if (!url.startsWith('/api')) return false
  const next = url.charCodeAt(4)
  return Number.isNaN(next) || next === 47 /* / */ || next === 63 /* ? */
}

/** Media ranges read from an `Accept` header at most: the header may be 16 KiB of them. */
const MAX_RANGES = 32

/**
 * Whether `Accept` ranks JSON above HTML (`application/json`, `application/problem+json`, … against
 * `text/html`), each type taking the quality of the most specific range that matches it; on equal
 * quality the type named more specifically wins (`application/json, *\/*` is JSON). A missing header,
 * `*\/*` and browsers' navigation headers all give HTML.
 */
export function prefersJson (accept: string | undefined): boolean {
  if (accept === undefined || accept === '') return false
  // Quality and specificity of the best match so far: 3 exact (or +json), 2 type/*, 1 */*, 0 none.
  let json = 0
  let jsonRank = 0
  let html = 0
  let htmlRank = 0
  for (const range of accept.split(',', MAX_RANGES)) {
    const [rawType = '', ...params] = range.split(';')
    const type = rawType.trim().toLowerCase()
    const q = quality(params)
    const jsonMatch = type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'))
      ? 3
      : type === 'application/*' ? 2 : type === '*/*' ? 1 : 0
    if (jsonMatch > jsonRank || (jsonMatch === jsonRank && jsonMatch > 0 && q > json)) {
      json = q
      jsonRank = jsonMatch
    }
    const htmlMatch = type === 'text/html' ? 3 : type === 'text/*' ? 2 : type === '*/*' ? 1 : 0
    if (htmlMatch > htmlRank || (htmlMatch === htmlRank && htmlMatch > 0 && q > html)) {
      html = q
      htmlRank = htmlMatch
    }
  }
  return json > html || (json === html && json > 0 && jsonRank > htmlRank)
}

function quality (params: readonly string[]): number {
  for (const param of params) {
    const [name = '', value = ''] = param.split('=')
    if (name.trim().toLowerCase() !== 'q') continue
    const q = Number(value.trim())
    return Number.isFinite(q) && q >= 0 && q <= 1 ? q : 0
  }
  return 1
}

/**
 * Whether an error answer is JSON: the route says so (`config.nex.kind === 'api'`), or, for routes that
 * are not pages, the URL is under `/api` or `Accept` prefers JSON.
 */
export function wantsJson (url: string, accept: string | undefined, routeKind: unknown): boolean {
  if (routeKind === 'api') return true
  if (routeKind === 'page' || routeKind === 'action') return false
  return isApiPath(url) || prefersJson(accept)
}

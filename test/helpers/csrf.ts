/**
 * CSRF (@nex/security) in tests that speak HTTP themselves (`httpRequest` of server-process.ts, `fetch`,
 * `app.inject`) instead of through @nex/testing's client: what a browser keeps from a Nex page and sends
 * back on unsafe requests. A page sets the `_csrf` cookie (the per-browser secret, HttpOnly) and carries a
 * token in `<meta name="csrf-token">` (htmx sends it as `X-CSRF-Token`) and in the hidden `_csrf` field of
 * its forms (plain form posts). Also the messages of the refusals, to tell them apart in HTML answers,
 * which show the message but not the code.
 */
import type { Page } from 'playwright-core'
import { errors } from '@nex/security'

export const CSRF_COOKIE = '_csrf'
export const CSRF_FIELD = '_csrf'
export const CSRF_HEADER = 'x-csrf-token'

/** The messages of @nex/security's refusals: an HTML error answer shows the message of its code. */
export const REFUSED = Object.freeze({
  /** FST_NEX_SECURITY_CSRF_MISSING (403): an unsafe request with no token in the header or the field. */
  csrfMissing: new errors.FST_NEX_SECURITY_CSRF_MISSING().message,
  /** FST_NEX_SECURITY_CSRF_INVALID (403): a token that does not match the browser's cookie. */
  csrfInvalid: new errors.FST_NEX_SECURITY_CSRF_INVALID().message,
  /** FST_NEX_SECURITY_CROSS_SITE (403): `Sec-Fetch-Site: cross-site`, or an `Origin` of another host. */
  crossSite: new errors.FST_NEX_SECURITY_CROSS_SITE().message,
  /** FST_NEX_SECURITY_RATE_LIMITED (429), up to the window it names. */
  rateLimited: new errors.FST_NEX_SECURITY_RATE_LIMITED('').message.trimEnd()
})

const META = /<meta name="csrf-token" content="([^"]+)">/
const FIELD = /<input type="hidden" name="_csrf" value="([^"]+)">/g

/** The token of a page's `<meta name="csrf-token">`; throws when the page has none. */
export function csrfTokenOf (body: string): string {
  const match = META.exec(body)
  if (match === null) throw new Error(`no <meta name="csrf-token"> in: ${body.slice(0, 300)}`)
  return match[1] as string
}

/** Every value of the hidden `_csrf` field in the markup, in order. */
export function csrfFieldsOf (body: string): string[] {
  return [...body.matchAll(FIELD)].map(match => match[1] as string)
}

/** `name=value` of every cookie a response sets (removals, `Max-Age=0`, left out), in order. */
export function setCookiePairs (headers: Record<string, string | string[] | number | undefined>): string[] {
  const header = headers['set-cookie']
  const lines = header === undefined ? [] : Array.isArray(header) ? header : [String(header)]
  return lines
    .filter(line => !/;\s*max-age=0\s*(;|$)/i.test(line))
    .map(line => line.split(';')[0]?.trim() ?? '')
    .filter(pair => pair !== '' && !pair.endsWith('='))
}

/** What a browser sends back on an htmx request from a page: the cookies it set, and its token as a header. */
export interface CsrfHeaders {
  cookie: string
  'x-csrf-token': string
}

/**
 * The CSRF of a page response, as headers for the unsafe requests made from that page: `cookie` holds
 * every cookie the response set (the `_csrf` secret among them), `x-csrf-token` the token of its meta
 * tag. The page must be the first one of its browser (a page requested with a `_csrf` cookie sets none):
 * later pages of the same browser keep the cookie and only give a new token (`csrfTokenOf`).
 */
export function csrfFrom (page: { headers: Record<string, string | string[] | number | undefined>, body: string }): CsrfHeaders {
  const cookies = setCookiePairs(page.headers)
  if (!cookies.some(pair => pair.startsWith(`${CSRF_COOKIE}=`))) {
    throw new Error(`the page set no ${CSRF_COOKIE} cookie (Set-Cookie: ${JSON.stringify(page.headers['set-cookie'])})`)
  }
  return { cookie: cookies.join('; '), [CSRF_HEADER]: csrfTokenOf(page.body) } as CsrfHeaders
}

/** One POST a browser page sent, and how it carried the CSRF token. */
export interface SentPost {
  /** Path and query (`/?/increment`). */
  readonly url: string
  /** Whether htmx sent it (`HX-Request: true`). */
  readonly htmx: boolean
  /** The `X-CSRF-Token` header, if any. */
  readonly header: string | undefined
  /** The `_csrf` field of a urlencoded body, if any. */
  readonly field: string | null
}

/** Records every POST `page` sends from now on, with the token it carried (Chromium, playwright-core). */
export function recordPosts (page: Page): SentPost[] {
  const posts: SentPost[] = []
  page.on('request', request => {
    if (request.method() !== 'POST') return
    const url = new URL(request.url())
    const headers = request.headers()
    const body = /^application\/x-www-form-urlencoded\b/.test(headers['content-type'] ?? '') ? request.postData() ?? '' : ''
    posts.push({
      url: `${url.pathname}${url.search}`,
      htmx: headers['hx-request'] === 'true',
      header: headers[CSRF_HEADER],
      field: new URLSearchParams(body).get(CSRF_FIELD)
    })
  })
  return posts
}

/** The token of the `<meta name="csrf-token">` a browser page shows now, or null. */
export async function pageCsrfToken (page: Page): Promise<string | null> {
  return await page.locator('meta[name="csrf-token"]').first().getAttribute('content')
}

/**
 * A browser-like client over `app.inject`: it keeps cookies, adopts the page id and the CSRF token of
 * each full-page render, and sends them back the way a Nex page does (the `X-Nex-Page-Id` and
 * `X-CSRF-Token` headers on htmx requests, the `_nex_page` and `_csrf` hidden fields on plain form posts).
 * Redirects are not followed: assert on them.
 */
import type { InjectOptions, LightMyRequestResponse } from 'fastify'

/** How a request is sent: `false` = the browser itself, `true`/`'partial'` = an htmx fragment request,
 * `'full'` = an htmx full-page request, `'boosted'` = a boosted link or form. */
export type HtmxMode = boolean | 'partial' | 'full' | 'boosted'

export interface RequestOptions {
  /** @default false */
  htmx?: HtmxMode
  /** Extra headers; they win over the ones the client sets. */
  headers?: Record<string, string>
}

export interface SendOptions extends RequestOptions {
  /** Sent urlencoded. On a non-htmx request the page id is added as the page-id field, like a real form. */
  form?: Record<string, string>
  /** Sent as JSON (ignored when `form` is given). */
  json?: unknown
}

export interface TestClientOptions {
  /** Must match the @nex/state `header` option. @default 'x-nex-page-id' */
  header?: string
  /** Must match the @nex/state `field` option. @default '_nex_page' */
  field?: string
  /** Must match the @nex/security CSRF header. @default 'x-csrf-token' */
  csrfHeader?: string
  /** Must match the @nex/security CSRF form field. @default '_csrf' */
  csrfField?: string
}

export interface TestClient {
  /** The current page id: adopted from the last full-page HTML response that carried one. Settable. */
  pageId: string | null
  /** The CSRF token: adopted from the last HTML response with `<meta name="csrf-token">`. Settable. */
  csrfToken: string | null
  /** Cookies kept from `Set-Cookie` (name → value; no path or domain scoping). */
  readonly cookies: ReadonlyMap<string, string>
  get (url: string, options?: RequestOptions): Promise<LightMyRequestResponse>
  post (url: string, options?: SendOptions): Promise<LightMyRequestResponse>
  request (method: InjectOptions['method'], url: string, options?: SendOptions): Promise<LightMyRequestResponse>
}

/** Anything with Fastify's promise-returning `inject`. */
export interface Injectable {
  inject (options: InjectOptions): Promise<LightMyRequestResponse>
}

// The attribute a Nex document carries its page id in, and the element that carries the CSRF token.
const PAGE_ID_ATTRIBUTE = /\bdata-nex-page-id="([^"]+)"/
const CSRF_META = /<meta name="csrf-token" content="([^"]+)"/
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export function createTestClient (app: Injectable, options: TestClientOptions = {}): TestClient {
  const header = (options.header ?? 'x-nex-page-id').toLowerCase()
  const field = options.field ?? '_nex_page'
  const csrfHeader = (options.csrfHeader ?? 'x-csrf-token').toLowerCase()
  const csrfField = options.csrfField ?? '_csrf'
  const cookies = new Map<string, string>()
  let pageId: string | null = null
  let csrfToken: string | null = null

  async function request (method: InjectOptions['method'], url: string, { htmx = false, headers = {}, form, json }: SendOptions = {}): Promise<LightMyRequestResponse> {
    const mode = htmx === true ? 'partial' : htmx
    const sent: Record<string, string> = {}
    if (cookies.size > 0) sent.cookie = Array.from(cookies, ([name, value]) => `${name}=${value}`).join('; ')
    if (mode !== false) {
      sent['hx-request'] = 'true'
      sent['hx-request-type'] = mode === 'partial' ? 'partial' : 'full'
      if (mode === 'boosted') sent['hx-boosted'] = 'true'
      if (pageId !== null) sent[header] = pageId
      if (csrfToken !== null && !SAFE_METHODS.has(String(method).toUpperCase())) sent[csrfHeader] = csrfToken
    }
    let payload: string | undefined
    if (form !== undefined) {
      let fields = mode === false && pageId !== null && !(field in form) ? { ...form, [field]: pageId } : form
      if (mode === false && csrfToken !== null && !(csrfField in fields)) fields = { ...fields, [csrfField]: csrfToken }
      payload = new URLSearchParams(fields).toString()
      sent['content-type'] = 'application/x-www-form-urlencoded'
    } else if (json !== undefined) {
      payload = JSON.stringify(json)
      sent['content-type'] = 'application/json'
    }
    for (const [name, value] of Object.entries(headers)) sent[name.toLowerCase()] = value

    const res = await app.inject({ method, url, headers: sent, ...(payload === undefined ? {} : { payload }) })
    keepCookies(res)
    // Only a full document replaces the page; a fragment lives inside the current one.
    if (mode !== 'partial' && String(res.headers['content-type'] ?? '').startsWith('text/html')) {
      pageId = PAGE_ID_ATTRIBUTE.exec(res.body)?.[1] ?? pageId
      csrfToken = CSRF_META.exec(res.body)?.[1] ?? csrfToken
    }
    return res
  }

  function keepCookies (res: LightMyRequestResponse): void {
    const now = Date.now()
    for (const cookie of res.cookies) {
      const expired = (cookie.maxAge !== undefined && cookie.maxAge <= 0) ||
        (cookie.expires !== undefined && cookie.expires.getTime() <= now)
      if (expired) cookies.delete(cookie.name)
      else cookies.set(cookie.name, cookie.value)
    }
  }

  return {
    get pageId () {
      return pageId
    },
    set pageId (id) {
      pageId = id
    },
    get csrfToken () {
      return csrfToken
    },
    set csrfToken (token) {
      csrfToken = token
    },
    cookies,
    get: async (url, options) => request('GET', url, options),
    post: async (url, options) => request('POST', url, options),
    request
  }
}

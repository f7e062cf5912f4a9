/**
 * The context handed to page, layout, action and API code: request data, the page state handle, the
 * session and the response helpers (htmx headers, redirects, status). One object per request, no globals.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { html, isSafeHtml, raw, type SafeHtml } from '@nex/html'
import type { PageState } from '@nex/state'
// The subpath holds only the types, not the plugin's `request.session` declaration, so an app using
// another session plugin can still use @nex/routes.
import type { Session } from '@nex/session/types'
import { SessionNotRegisteredError, StateNotRegisteredError, UnsafeRedirectError } from './errors.js'
import { isHtmxRequest, wantsFullPage } from './lib/request-kind.js'
import { isSameOriginPath } from './lib/redirect.js'
import type { Assets } from './assets.js'

/** Route parameters: a string for `[x]`, a string array for `[...x]` and `[[...x]]`. */
export type Params = Record<string, string | string[]>

/** What a page may tell its layouts about itself (`export const head` or `export function head`). */
export interface Head {
  title?: string
  [key: string]: unknown
}

/** An explicit response: sent as is, also for plain (non-htmx) form posts. */
export class NexResponse {
  constructor (
    readonly status: number,
    readonly headers: Readonly<Record<string, string>>,
    readonly body: unknown
  ) {}
}

export interface RedirectOptions {
  /** Status for non-htmx requests. Default 303 after a POST/PUT/PATCH/DELETE, 302 after GET. */
  status?: 301 | 302 | 303 | 307 | 308
  /**
   * How htmx requests are redirected: `'redirect'` (default) sends `HX-Redirect`, a full navigation;
   * `'location'` sends `HX-Location`, an htmx navigation without a full reload.
   */
  htmx?: 'redirect' | 'location'
}

/** Shared per-app values the context reads (one object, made at startup). */
export interface ContextEnv {
  readonly prefix: string
  readonly assets: Assets | null
}

const SAFE_METHODS = new Set(['GET', 'HEAD'])

const DEFAULT_CSRF_HEADER = 'x-csrf-token'

/** The CSRF token source of @nex/security, when it protects this app: the form field, the header, the token. */
function csrfCarrier (reply: FastifyReply): { field: string, header: string, token: () => string } | null {
  const csrf = (reply.server as { nexSecurity?: { csrf: { field: string, header: string } | null } }).nexSecurity?.csrf
  const generate = (reply as unknown as { csrfToken?: () => string }).csrfToken
  if (csrf == null || typeof generate !== 'function') return null
  return { field: csrf.field, header: csrf.header, token: () => generate.call(reply) }
}

export class Context<P extends Params = Params> {
  readonly request: FastifyRequest
  readonly reply: FastifyReply
  readonly params: P
  /** True when this request renders the whole page inside its layouts (not an htmx fragment). */
  fullPage: boolean
  /** What the page said about itself through its `head` export, for layouts. */
  head: Head = {}
  readonly #env: ContextEnv
  #triggers: Record<string, unknown> | null = null
  #locals: Record<string, unknown> | null = null
  #formFields: SafeHtml | null = null

  constructor (request: FastifyRequest, reply: FastifyReply, params: P, env: ContextEnv) {
    this.request = request
    this.reply = reply
    this.params = params
    this.#env = env
    this.fullPage = wantsFullPage(request.headers)
  }

  /**
   * Per-request values shared by an action, `load`, `render` and the layouts, e.g. a validation message an
   * action leaves for the page re-rendered after a plain form post.
   */
  get locals (): Record<string, unknown> {
    this.#locals ??= {}
    return this.#locals
  }

  /** Parsed query string. */
  get query (): Record<string, unknown> {
    return this.request.query as Record<string, unknown>
  }

  /** Parsed body: urlencoded forms and JSON. */
  get body (): Record<string, unknown> {
    return (this.request.body ?? {}) as Record<string, unknown>
  }

  /** True for requests made by htmx (`HX-Request: true`). */
  get isHtmx (): boolean {
    return isHtmxRequest(this.request.headers)
  }

  /** State of this page view (needs @nex/state). */
  get state (): PageState {
    const request = this.request as FastifyRequest & { pageState?: PageState }
    if (request.pageState === undefined) throw new StateNotRegisteredError()
    return request.pageState
  }

  /** The browser's session and flash messages (needs @nex/session). */
  get session (): Session {
    const request = this.request as FastifyRequest & { session?: Session }
    if (request.session === undefined) throw new SessionNotRegisteredError()
    return request.session
  }

  /** The id of this page view, or null without @nex/state. */
  get pageId (): string | null {
    const request = this.request as FastifyRequest & { pageState?: PageState }
    return request.pageState === undefined ? null : request.pageState.id
  }

  /** A URL below the routes' prefix: `ctx.url('/about')` is `/app/about` when mounted at `/app`. */
  url (path: string): string {
    return this.#env.prefix + path
  }

  /**
   * Hidden fields that plain `<form method="post">` needs so it works without JavaScript: the page id
   * (and whatever other plugins carry the same way).
   */
  formFields (): SafeHtml {
    // The same fields for every form of the response (one page id, one token per reply): built once.
    this.#formFields ??= this.#buildFormFields()
    return this.#formFields
  }

  #buildFormFields (): SafeHtml {
    const request = this.request as FastifyRequest & { pageState?: PageState }
    const field = (request.server as { nexState?: { field: string } }).nexState?.field
    const pageId = request.pageState === undefined || field === undefined
      ? null
      : html`<input type="hidden" name="${field}" value="${request.pageState.id}">`
    const csrf = csrfCarrier(this.reply)
    const token = csrf === null ? null : html`<input type="hidden" name="${csrf.field}" value="${csrf.token()}">`
    if (pageId === null && token === null) return raw('')
    return html`${pageId}${token}`
  }

  /**
   * The `<script>` tags that load htmx and the Nex client, then the htmx extensions named in `extensions`
   * (e.g. `['sse']` for `hx-sse:connect`); put them in the root layout's `<head>`. With CSRF protection
   * (@nex/security) they start with `<meta name="csrf-token">`, which the Nex client sends as a header on
   * every htmx request.
   */
  scripts (options: { extensions?: readonly string[] } = {}): SafeHtml {
    const tags = this.#env.assets === null ? raw('') : this.#env.assets.scriptTags(this.reply, options.extensions)
    const csrf = csrfCarrier(this.reply)
    if (csrf === null) return tags
    // The Nex client sends the token in X-CSRF-Token unless the meta names another header.
    const header = csrf.header.toLowerCase() === DEFAULT_CSRF_HEADER ? null : csrf.header
    return html`<meta name="csrf-token" content="${csrf.token()}"${header === null ? '' : html` data-header="${header}"`}>${tags}`
  }

  /**
   * The CSP script nonce of this response (set by @nex/security), for the page's own `<script nonce>`
   * elements; undefined without a CSP plugin. A `<style>` element takes `ctx.reply.cspNonce.style`.
   */
  get nonce (): string | undefined {
    return (this.reply as FastifyReply & { cspNonce?: { script?: string } }).cspNonce?.script
  }

  /** Sets the response status. */
  status (code: number): this {
    this.reply.code(code)
    return this
  }

  /** Sets a response header. */
  header (name: string, value: string): this {
    this.reply.header(name, value)
    return this
  }

  /** `HX-Trigger`: fires `event` (with `detail`) on the client after the response; calls accumulate. */
  trigger (event: string, detail: unknown = null): this {
    this.#triggers ??= {}
    this.#triggers[event] = detail
    this.reply.header('hx-trigger', JSON.stringify(this.#triggers))
    return this
  }

  /** `HX-Retarget`: swap into another element (a CSS selector). */
  retarget (selector: string): this {
    return this.header('hx-retarget', selector)
  }

  /** `HX-Reswap`: another swap style, e.g. `outerHTML` or `beforeend`. */
  reswap (swap: string): this {
    return this.header('hx-reswap', swap)
  }

  /** `HX-Push-Url`: push a same-origin path into the history, or `false` to prevent it. */
  pushUrl (path: string | false): this {
    if (path !== false && !isSameOriginPath(path)) throw new UnsafeRedirectError()
    return this.header('hx-push-url', String(path))
  }

  /** `HX-Replace-Url`: replace the current URL with a same-origin path, or `false`. */
  replaceUrl (path: string | false): this {
    if (path !== false && !isSameOriginPath(path)) throw new UnsafeRedirectError()
    return this.header('hx-replace-url', String(path))
  }

  /** `HX-Refresh`: the browser reloads the page. */
  refresh (): this {
    return this.header('hx-refresh', 'true')
  }

  /**
   * Redirects to a same-origin path. htmx requests get 200 with `HX-Redirect` (or `HX-Location`), since
   * htmx ignores headers on 3xx; other requests get a 303 after a form post (post/redirect/get) or 302.
   * Anything but a path starting with a single `/` is refused with FST_NEX_ROUTES_UNSAFE_REDIRECT (400).
   */
  redirect (path: string, options: RedirectOptions = {}): NexResponse {
    if (typeof path !== 'string' || !isSameOriginPath(path)) throw new UnsafeRedirectError()
    if (this.isHtmx) {
      const header = options.htmx === 'location' ? 'hx-location' : 'hx-redirect'
      return new NexResponse(200, { [header]: path }, '')
    }
    const status = options.status ?? (SAFE_METHODS.has(this.request.method) ? 302 : 303)
    return new NexResponse(status, { location: path }, '')
  }

  /** 204 No Content: htmx swaps nothing (headers such as `HX-Trigger` still apply). */
  noContent (): NexResponse {
    return new NexResponse(204, {}, undefined)
  }

  /** An explicit response with any body, status and headers. */
  respond (body: unknown, init: { status?: number, headers?: Record<string, string> } = {}): NexResponse {
    return new NexResponse(init.status ?? this.reply.statusCode, init.headers ?? {}, body)
  }
}

/** Sends an explicit response. */
export function sendNexResponse (reply: FastifyReply, response: NexResponse): FastifyReply {
  reply.code(response.status)
  for (const name in response.headers) reply.header(name, response.headers[name] as string)
  if (isSafeHtml(response.body)) return reply.type('text/html; charset=utf-8').send(response.body.value)
  return reply.send(response.body)
}

// Page views of the counter example as a browser opens them, for the HTTP benchmarks: GET / gives the
// page id, and with CSRF protection on, the `_csrf` cookie and the token of <meta name="csrf-token">.
import { fetchText } from './harness.js'

const PAGE_ID = /data-nex-page-id="([\w-]+\.[\w-]+)"/
const CSRF_META = /<meta name="csrf-token" content="([^"]+)"/
const FORM = 'application/x-www-form-urlencoded'

/** One page view of `server`: `{ pageId, csrfToken, cookie }` (the last two null without CSRF). */
export async function openPage (server) {
  const { status, headers, body } = await fetchText(server.url + '/')
  const pageId = PAGE_ID.exec(body)?.[1]
  if (status !== 200 || pageId === undefined) throw new Error(`${server.name}: GET / gave ${status} without a page id`)
  const csrfToken = CSRF_META.exec(body)?.[1] ?? null
  const cookie = headers.getSetCookie().map(line => line.split(';')[0]).join('; ') || null
  return { pageId, csrfToken, cookie }
}

/**
 * What htmx 4 sends for `hx-post="?/increment"` on the counter's form from `origin`: its headers (the
 * page id and CSRF token the Nex client adds, the browser's Origin and Fetch-Metadata, the cookies) and
 * the form's hidden field.
 */
export function incrementRequest (view, origin) {
  const headers = {
    'hx-request': 'true',
    'hx-request-type': 'partial',
    'x-nex-page-id': view.pageId,
    'content-type': FORM,
    origin,
    'sec-fetch-site': 'same-origin',
    'sec-fetch-mode': 'cors'
  }
  if (view.csrfToken !== null) headers['x-csrf-token'] = view.csrfToken
  if (view.cookie !== null) headers.cookie = view.cookie
  return { headers, body: `_nex_page=${encodeURIComponent(view.pageId)}` }
}

export async function postIncrement (server, view) {
  return await fetchText(server.url + '/?/increment', { method: 'POST', ...incrementRequest(view, server.url) })
}

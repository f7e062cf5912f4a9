// Nex client: carries the page-view id and the CSRF token on every htmx request (htmx 4 and htmx 2).
// The id sits on the element that wraps the page content (data-nex-page-id), inside what boosted
// navigation swaps, so each page view sends its own id. The CSRF token comes from
// <meta name="csrf-token"> (any token of the browser's CSRF cookie is valid, so a <head> that boosted
// navigation leaves in place still carries a good one). No eval, no inline code: runs under a strict CSP.
(function () {
  'use strict'
  const ATTRIBUTE = 'data-nex-page-id'
  const HEADER = 'X-Nex-Page-Id'
  const SELECTOR = '[' + ATTRIBUTE + ']'
  const CSRF_HEADER = 'X-CSRF-Token'
  const SAFE_METHOD = /^(get|head|options)$/i

  function pageIdFor (element) {
    let holder = element && element.closest ? element.closest(SELECTOR) : null
    if (!holder) holder = document.querySelector(SELECTOR)
    return holder ? holder.getAttribute(ATTRIBUTE) : null
  }

  function carry (element, headers) {
    if (!headers || headers[HEADER]) return
    const id = pageIdFor(element)
    if (id) headers[HEADER] = id
  }

  function carryCsrf (method, headers) {
    if (!headers || SAFE_METHOD.test(method)) return
    const meta = document.querySelector('meta[name="csrf-token"]')
    const token = meta ? meta.getAttribute('content') : null
    const header = (meta && meta.getAttribute('data-header')) || CSRF_HEADER
    if (token && !headers[header]) headers[header] = token
  }

  // A GET that replaces the whole page (boosted link, history restore) starts a new page view on the
  // server: the id of the page being left does not belong on it.
  function isNavigation (method, headers) {
    return /^get$/i.test(method) && (headers['HX-Boosted'] === 'true' || headers['HX-History-Restore-Request'] === 'true')
  }

  // htmx 4: fires before every request (also boosted, history and SSE requests made by htmx).
  document.addEventListener('htmx:config:request', function (event) {
    const ctx = event.detail && event.detail.ctx
    if (!ctx || !ctx.request) return
    carryCsrf(ctx.request.method, ctx.request.headers)
    if (isNavigation(ctx.request.method, ctx.request.headers)) return
    carry(ctx.sourceElement, ctx.request.headers)
  })

  // htmx 2
  document.addEventListener('htmx:configRequest', function (event) {
    const detail = event.detail
    if (!detail) return
    carryCsrf(detail.verb, detail.headers)
    if (detail.boosted && /^get$/i.test(detail.verb)) return
    carry(detail.elt, detail.headers)
  })
})()

// Nex client: carries the page-view id on every htmx request (htmx 4 and htmx 2).
// The id sits on the element that wraps the page content (data-nex-page-id), inside what boosted
// navigation swaps, so each page view sends its own id. No eval, no inline code: runs under a strict CSP.
(function () {
  'use strict'
  const ATTRIBUTE = 'data-nex-page-id'
  const HEADER = 'X-Nex-Page-Id'
  const SELECTOR = '[' + ATTRIBUTE + ']'

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

  // htmx 4: fires before every request (also boosted, history and SSE requests made by htmx).
  document.addEventListener('htmx:config:request', function (event) {
    const ctx = event.detail && event.detail.ctx
    if (ctx && ctx.request) carry(ctx.sourceElement, ctx.request.headers)
  })

  // htmx 2
  document.addEventListener('htmx:configRequest', function (event) {
    if (event.detail) carry(event.detail.elt, event.detail.headers)
  })
})()

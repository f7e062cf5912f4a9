import { html } from '@nex/html'
import type { Context } from '@nex/routes'
import { dataPointsAt, dataPointsElement, priceElement, secondOf, timeElement } from '../lib/energy.ts'

export const head = { title: 'Energy Dashboard' }

/** The second the page is rendered in: the time and data points start there, the price with the first tick. */
export function load () {
  return { second: secondOf(Date.now()) }
}

const CARDS = [
  {
    title: 'One producer',
    text: 'A single timer on the server publishes one event per second to the energy topic. Every open stream follows that topic, so a thousand tabs cost one computation per second, not a thousand.'
  },
  {
    title: 'Same second, same values',
    text: 'Price, time and data points are a pure function of the UTC second: every tab, and every server process sharing Redis, shows the same numbers at the same moment.'
  },
  {
    title: 'Plain HTML over SSE',
    text: 'Each event carries the three values as out-of-band HTML that htmx 4 swaps into place by id. No client code, no JSON, no inline scripts.'
  }
]

export default function render (_ctx: Context, data: { second: number }) {
  return html`<header class="page-header">
  <h1>⚡ Energy Dashboard</h1>
  <p class="lede">A simulated wholesale electricity price, streamed to this page every second with server-sent events.</p>
</header>
<section class="panel" aria-labelledby="price-heading" data-testid="energy-panel" hx-sse:connect="/api/energy-stream">
  <h2 id="price-heading" class="panel-title">Spot price</h2>
  <p class="price">${priceElement('Loading...')} <span class="unit">$/MWh</span></p>
  <p class="as-of">As of ${timeElement(data.second)}</p>
  <dl class="stats">
    <div class="stat"><dt>Data points</dt>${dataPointsElement(dataPointsAt(data.second))}</div>
    <div class="stat"><dt>Update rate</dt><dd class="stat-value">1s</dd></div>
    <div class="stat"><dt>Cycle</dt><dd class="stat-value">60m</dd></div>
  </dl>
</section>
<section class="cards" aria-label="How it works">
  ${CARDS.map(card => html`<article class="card"><h2>${card.title}</h2><p>${card.text}</p></article>`)}
</section>`
}

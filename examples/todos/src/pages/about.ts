import { html } from '@nex/html'

export const head = { title: 'About' }

export default function render () {
  return html`<section data-testid="about-page" class="about">
  <h1>About</h1>
  <p>A todo list built with Nex: file routes, page actions and page state on Fastify, with htmx 4 on the page.</p>
  <p>Every page view keeps its own list. Open the list in two tabs and each one has its own todos; reload and you start afresh.</p>
  <p><a href="/" data-testid="about-back">Back to the list</a></p>
</section>`
}

import { html, raw } from '@nex/html'
import type { Context } from '@nex/routes'
import { MAX_TEXT_LENGTH } from '../lib/todos.ts'

/** What the form shows besides its fields: the text to keep and a message after a refused add. */
export interface FormProblem {
  value: string
  message: string
}

/**
 * The add form. It is a real form (`method="post" action="?/add"` plus the page-id field), so it works
 * without JavaScript; htmx posts it instead and appends the answer to the list.
 *
 * `oob: true` renders it for an out-of-band swap: the add action sends it after the new item, so the
 * form comes back empty (and, with `autofocus`, focused) with no inline script, which htmx 4 could only
 * run with `unsafe-eval`.
 */
export function todoForm (ctx: Context, options: { problem?: FormProblem, oob?: boolean, autofocus?: boolean } = {}) {
  const { problem, oob = false, autofocus = oob } = options
  return html`<form id="todo-form" data-testid="todo-form" class="todo-form" method="post" action="?/add"
  hx-post="?/add" hx-target="#todo-list" hx-swap="beforeend"${oob ? raw(' hx-swap-oob="true"') : ''}>
  ${ctx.formFields()}
  <input id="todo-input" name="text" data-testid="todo-input" required maxlength="${MAX_TEXT_LENGTH}"
    autocomplete="off" placeholder="What needs to be done?" aria-label="New todo" aria-describedby="todo-error"
    value="${problem?.value ?? ''}"${problem === undefined ? '' : raw(' aria-invalid="true"')}${autofocus ? raw(' autofocus') : ''}>
  <button type="submit" data-testid="todo-submit">Add</button>
  <p id="todo-error" data-testid="todo-error" class="form-error" role="alert">${problem?.message ?? ''}</p>
</form>`
}

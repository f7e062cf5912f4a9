import { html, raw } from '@nex/html'
import type { Context } from '@nex/routes'
import { MAX_AUTHOR_LENGTH, MAX_TEXT_LENGTH } from '../lib/chat.ts'

/** What the form shows besides its fields: the values to keep and, after a refused message, why. */
export interface FormValues {
  author?: string
  text?: string
  message?: string
}

/**
 * The message form. It is a real form (`method="post" action="?/send"` plus the page-id field), so it
 * works without JavaScript; htmx posts it instead and swaps the answer, this form again, in its place:
 * empty after a message was sent (keeping the name, and focused for the next one), or with the text and
 * the message after a refused one. The message itself reaches this page like every other: on its stream.
 */
export function chatForm (ctx: Context, values: FormValues = {}, options: { autofocus?: boolean } = {}) {
  const { author = '', text = '', message } = values
  const invalid = message !== undefined
  return html`<form id="chat-form" data-testid="chat-form" class="chat-form" method="post" action="?/send"
  hx-post="?/send" hx-target="#chat-form" hx-swap="outerHTML">
  ${ctx.formFields()}
  <input name="author" data-testid="chat-author" maxlength="${MAX_AUTHOR_LENGTH}" autocomplete="nickname"
    placeholder="anonymous" aria-label="Your name" value="${author}">
  <input id="chat-input" name="text" data-testid="chat-input" required maxlength="${MAX_TEXT_LENGTH}"
    autocomplete="off" placeholder="Say something" aria-label="Message" aria-describedby="chat-error"
    value="${text}"${invalid ? raw(' aria-invalid="true"') : ''}${options.autofocus === true ? raw(' autofocus') : ''}>
  <button type="submit" data-testid="chat-send">Send</button>
  <p id="chat-error" data-testid="chat-error" class="form-error" role="alert">${message ?? ''}</p>
</form>`
}

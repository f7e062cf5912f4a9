import { html, raw } from '@nex/html'
import type { Context } from '@nex/routes'
import { ChatError, parseRoomName, ROOMS } from '../lib/chat.ts'

export const head = { title: 'Nex Chat' }

interface Problem {
  value: string
  message: string
}

export const actions = {
  /**
   * Goes to the room typed into the form: 303 to `/rooms/<name>` (htmx is not involved: it is a plain
   * form). A name that is not a room name gets this page again, 422, with the message in the form.
   */
  go: (ctx: Context) => {
    const raw = ctx.body.room
    try {
      return ctx.redirect(`/rooms/${parseRoomName(raw)}`)
    } catch (error) {
      if (!(error instanceof ChatError)) throw error
      ctx.locals.problem = { value: typeof raw === 'string' ? raw : '', message: error.message }
      ctx.status(error.statusCode)
      return ''
    }
  }
}

export default function render (ctx: Context) {
  const problem = ctx.locals.problem as Problem | undefined
  return html`<section data-testid="rooms-page" class="rooms">
  <h1>Rooms</h1>
  <ul class="room-list" data-testid="room-list">
    ${ROOMS.map(room => html`<li><a href="/rooms/${room}" data-testid="room-link-${room}">#${room}</a></li>`)}
  </ul>
  <form class="go-form" data-testid="room-form" method="post" action="?/go">
    ${ctx.formFields()}
    <input name="room" data-testid="room-input" required maxlength="32" autocomplete="off"
      placeholder="another-room" aria-label="Room name" aria-describedby="room-error"
      value="${problem?.value ?? ''}"${problem === undefined ? '' : raw(' aria-invalid="true"')}>
    <button type="submit" data-testid="room-go">Go</button>
    <p id="room-error" data-testid="room-error" class="form-error" role="alert">${problem?.message ?? ''}</p>
  </form>
  <p class="hint">Open a room in two tabs (or two browsers): what one sends, the other shows at once.</p>
</section>`
}

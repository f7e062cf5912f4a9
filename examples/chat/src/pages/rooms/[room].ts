import { html, raw } from '@nex/html'
import type { Context } from '@nex/routes'
import { stream as sseStream, type SseStream } from '@nex/sse'
import { ChatError, checkAuthor, checkRoom, checkText, parseAfter, recentMessages, topicOf } from '../../lib/chat.ts'
import { chatForm, type FormValues } from '../../partials/chat-form.ts'
import { chatMessage } from '../../partials/chat-message.ts'

interface RoomData {
  room: string
  messages: string[]
  lastId: number
}

export function head (_ctx: Context, data: RoomData) {
  return { title: `#${data.room} · Nex Chat` }
}

/** The room (404 for a name that is not a room name) and its newest messages, oldest first. */
export async function load (ctx: Context): Promise<RoomData> {
  const room = checkRoom(ctx.params.room)
  return { room, ...await recentMessages(ctx.request.server.nexSse.topics, room) }
}

/**
 * `GET /rooms/<room>?/stream`: the room's messages as they are sent, each with its id. On a first
 * connection it replays what was sent after the page was rendered (`after`, the newest id the page
 * showed); on a reconnect what the browser missed (its `Last-Event-ID`). The stream stays open as long
 * as the subscription feeds it.
 */
export const stream = sseStream(async (ctx: Context, events: SseStream) => {
  const room = checkRoom(ctx.params.room)
  await events.subscribe(topicOf(room), { replay: true, after: parseAfter(ctx.query.after) })
})

export const actions = {
  /**
   * Publishes a message to the room: every stream following it, in every process, appends it, the
   * sender's own page included. htmx gets the form back, empty but for the name; a plain form post is
   * redirected back to the room (303), whose page then shows the message.
   */
  send: async (ctx: Context) => {
    const room = checkRoom(ctx.params.room)
    const { author: rawAuthor, text: rawText } = ctx.body
    try {
      const author = checkAuthor(rawAuthor)
      const text = checkText(rawText)
      await ctx.request.server.nexSse.publish(topicOf(room), { data: chatMessage(author, text) })
      if (ctx.fullPage) return ctx.redirect(`/rooms/${room}`)
      return chatForm(ctx, { author: typeof rawAuthor === 'string' ? rawAuthor.trim() : '' }, { autofocus: true })
    } catch (error) {
      if (!(error instanceof ChatError)) throw error
      const values: FormValues = {
        author: typeof rawAuthor === 'string' ? rawAuthor : '',
        text: typeof rawText === 'string' ? rawText : '',
        message: error.message
      }
      // Kept for the page re-rendered after a plain (no-JS) form post, which shows it in the form.
      ctx.locals.form = values
      ctx.status(error.statusCode)
      return chatForm(ctx, values)
    }
  }
}

export default function render (ctx: Context, data: RoomData) {
  const form = ctx.locals.form as FormValues | undefined
  // The messages are the markup `send` published, escaped when it was made (see chatMessage).
  // eslint-disable-next-line nex/no-unsafe-raw -- each message is chatMessage()'s html output, and only `send` publishes to room topics
  const messages = data.messages.map(message => raw(message))
  return html`<section data-testid="chat-room" class="chat">
  <h1>#${data.room}</h1>
  <ul id="messages" data-testid="chat-messages" class="messages" aria-live="polite"
    hx-sse:connect="?/stream&amp;after=${data.lastId}" hx-swap="beforeend">${messages}</ul>
  ${chatForm(ctx, form ?? {}, { autofocus: true })}
  <p class="hint">What you send reaches every open page of this room at once, in every tab and browser.</p>
</section>`
}

/**
 * Server-sent event framing, to the letter of the HTML standard's `text/event-stream` grammar. Pure.
 *
 * - Data lines: every line of the data (split on CRLF, CR or LF, as the client splits them) gets its own
 *   `data:` field, so multi-line text survives exactly (one trailing LF is removed by the client, which is
 *   why a value ending in a newline round-trips too: the last line is an empty `data:`).
 * - `event` and `id` are single-line fields: CR or LF would end the field early and let the rest forge
 *   other fields, so they are refused (FST_NEX_SSE_INVALID_FIELD). An `id` with NUL is ignored by clients,
 *   so it is refused too.
 * - A named event always has a data field: a client dispatches nothing for an event without data.
 * - Strings and `html` values are sent as they are (markup for htmx swaps); other values as JSON.
 */
import { isSafeHtml } from '@nex/html'
import { FST_NEX_SSE_INVALID_DATA, FST_NEX_SSE_INVALID_FIELD } from '../errors.js'

/** One event. Everything is optional; a message with only `comment` is a comment. */
export interface SseMessage {
  /** The payload: a string or html`…` as is, anything else as JSON. */
  data?: unknown
  /** The event name (`addEventListener(name)`, htmx: a DOM event instead of a swap). Default: an unnamed message. */
  event?: string
  /** The event id: the browser sends the last one back as `Last-Event-ID` when it reconnects. */
  id?: string | number
  /** How long the browser waits before reconnecting, in ms. */
  retry?: number
  /** A comment line (ignored by clients; keeps the connection busy). */
  comment?: string
}

/** What stream handlers may send or yield: a message, or its data alone (a string or html`…`). */
export type SseChunk = SseMessage | string | { readonly value: string }

const LINE_BREAK = /\r\n|\r|\n/
const HAS_LINE_BREAK = /[\r\n]/
const FIELD_BREAK = /[\r\n\0]/

/** The data as text: strings and html as they are, other values as JSON. */
export function dataText (data: unknown): string {
  if (typeof data === 'string') return data
  if (isSafeHtml(data)) return data.value
  let json: string | undefined
  try {
    json = JSON.stringify(data)
  } catch {}
  if (json === undefined) throw new FST_NEX_SSE_INVALID_DATA(describe(data))
  return json
}

function describe (value: unknown): string {
  if (value === undefined) return 'undefined'
  if (typeof value === 'bigint') return 'a bigint'
  if (typeof value === 'function' || typeof value === 'symbol') return `a ${typeof value}`
  return 'a value JSON.stringify cannot encode (a cycle, or a toJSON that throws)'
}

/** `prefix` + each line of `text` + LF, one field per line. */
function fieldLines (prefix: string, text: string): string {
  if (!HAS_LINE_BREAK.test(text)) return `${prefix}${text}\n`
  let out = ''
  for (const line of text.split(LINE_BREAK)) out += `${prefix}${line}\n`
  return out
}

function singleLine (field: string, value: string): string {
  if (FIELD_BREAK.test(value)) {
    const what = value.includes('\0') ? 'contains a NUL character' : 'contains a line break'
    throw new FST_NEX_SSE_INVALID_FIELD(field, what)
  }
  return value
}

/** Checks an event name (throws FST_NEX_SSE_INVALID_FIELD): usable before the event is framed. */
export function checkEventName (event: unknown): string | undefined {
  if (event === undefined || event === '') return undefined
  if (typeof event !== 'string') throw new FST_NEX_SSE_INVALID_FIELD('event', 'is not a string')
  return singleLine('event', event)
}

/** Normalises a chunk to a message: a string or html alone is the data of an unnamed message. */
export function toMessage (chunk: SseChunk): SseMessage {
  if (typeof chunk === 'string' || isSafeHtml(chunk)) return { data: chunk }
  if (typeof chunk !== 'object' || chunk === null) throw new FST_NEX_SSE_INVALID_DATA(typeof chunk === 'object' ? 'null' : typeof chunk)
  return chunk as SseMessage
}

/** The wire text of one event, ending with the blank line that dispatches it. */
export function formatMessage (message: SseMessage): string {
  let out = ''
  if (message.comment !== undefined) out += fieldLines(': ', String(message.comment))
  const event = checkEventName(message.event)
  if (event !== undefined) out += `event: ${event}\n`
  if (message.id !== undefined) {
    const id = typeof message.id === 'number' ? formatNumberId(message.id) : message.id
    if (typeof id !== 'string') throw new FST_NEX_SSE_INVALID_FIELD('id', 'is not a string or a number')
    out += `id: ${singleLine('id', id)}\n`
  }
  if (message.retry !== undefined) {
    if (!Number.isSafeInteger(message.retry) || message.retry < 0) throw new FST_NEX_SSE_INVALID_FIELD('retry', 'is not a non-negative integer of milliseconds')
    out += `retry: ${message.retry}\n`
  }
  if (message.data !== undefined || event !== undefined) out += fieldLines('data: ', message.data === undefined ? '' : dataText(message.data))
  return `${out}\n`
}

function formatNumberId (id: number): string {
  if (!Number.isSafeInteger(id) || id < 0) throw new FST_NEX_SSE_INVALID_FIELD('id', 'is a number that is not a non-negative integer')
  return String(id)
}

/** A comment frame (heartbeats use `:\n\n`, the shortest valid frame). */
export function formatComment (text: string): string {
  return `${fieldLines(': ', text)}\n`
}

/** `Last-Event-ID` as a topic position: a non-negative integer, else null (ignored, no replay). */
export function parseLastEventId (header: string | string[] | undefined): number | null {
  if (typeof header !== 'string' || header === '' || header.length > 20) return null
  if (!/^\d+$/.test(header)) return null
  const id = Number(header)
  return Number.isSafeInteger(id) ? id : null
}

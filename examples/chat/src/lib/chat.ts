/**
 * The rules of the chat: room names, message limits, and where a room's messages live. Each room is one
 * topic of the app's event log (`room:<name>`): sending a message appends it (the log gives it the next id
 * and keeps the newest ones), every stream following the room gets it, in every process sharing the log.
 * Not routed (only `pages/` and `api/` are): pages import it.
 */
import { isTopicMessage, type EventLog } from '@nex/pubsub'

/** Room names: lowercase letters, digits and dashes, 1 to 32 of them. */
export const ROOM_NAME = /^[a-z0-9-]{1,32}$/
/** The rooms the home page links to (any valid name is a room). */
export const ROOMS = ['lobby', 'random', 'help'] as const
/** Longest message, in UTF-16 code units (what the input's `maxlength` counts). */
export const MAX_TEXT_LENGTH = 500
/** Longest author name. */
export const MAX_AUTHOR_LENGTH = 40
/** The author of a message sent without a name. */
export const ANONYMOUS = 'anonymous'
/** Most messages a room page shows when it opens (the newest ones the log kept). */
export const RECENT_MESSAGES = 50

/** A request the chat refuses; `statusCode` and the message reach the user (the error page shows 4xx messages). */
export class ChatError extends Error {
  readonly statusCode: number

  constructor (statusCode: number, message: string) {
    super(message)
    this.name = 'ChatError'
    this.statusCode = statusCode
  }
}

/** The room named in the URL, or a 404 ChatError: a page, its stream and its action all check it. */
export function checkRoom (raw: unknown): string {
  if (typeof raw !== 'string' || !ROOM_NAME.test(raw)) throw new ChatError(404, 'There is no such room.')
  return raw
}

/** A room name typed into the home page's form (trimmed, lowercased), or a 422 ChatError. */
export function parseRoomName (raw: unknown): string {
  const name = typeof raw === 'string' ? raw.trim().toLowerCase() : ''
  if (!ROOM_NAME.test(name)) {
    throw new ChatError(422, 'A room name has 1 to 32 characters: lowercase letters, digits and dashes.')
  }
  return name
}

/** The trimmed text of a message, or a 422 ChatError saying what is wrong with it. */
export function checkText (raw: unknown): string {
  const text = typeof raw === 'string' ? raw.trim() : ''
  if (text === '') throw new ChatError(422, 'Write a message first.')
  if (text.length > MAX_TEXT_LENGTH) {
    throw new ChatError(422, `A message can be at most ${MAX_TEXT_LENGTH} characters long (this one has ${text.length}).`)
  }
  return text
}

/** The trimmed author name (`anonymous` when empty or missing), or a 422 ChatError. */
export function checkAuthor (raw: unknown): string {
  if (raw !== undefined && typeof raw !== 'string') throw new ChatError(422, 'A name is text.')
  const author = (raw ?? '').trim()
  if (author.length > MAX_AUTHOR_LENGTH) {
    throw new ChatError(422, `A name can be at most ${MAX_AUTHOR_LENGTH} characters long.`)
  }
  return author === '' ? ANONYMOUS : author
}

/** The event-log topic of a room. */
export function topicOf (room: string): string {
  return `room:${room}`
}

/** Where the stream replays from on a first connection: `after` from the stream URL, if it is an id. */
export function parseAfter (raw: unknown): number | undefined {
  if (typeof raw !== 'string' || !/^\d{1,16}$/.test(raw)) return undefined
  const after = Number(raw)
  return Number.isSafeInteger(after) ? after : undefined
}

export interface Recent {
  /** The markup of the newest messages, oldest first (at most RECENT_MESSAGES). */
  messages: string[]
  /** The id of the newest message the log holds, 0 when none: the stream replays what comes after it. */
  lastId: number
}

/**
 * The room's newest messages, as the log kept them. They are the markup the `send` action published,
 * escaped when it was made; anything else found on the topic is skipped.
 */
export async function recentMessages (topics: EventLog, room: string): Promise<Recent> {
  const { events } = await topics.since(topicOf(room), 0)
  const messages: string[] = []
  let lastId = 0
  for (const { id, message } of events) {
    lastId = Math.max(lastId, id)
    if (isTopicMessage(message) && message.event === undefined && typeof message.data === 'string') messages.push(message.data)
  }
  return { messages: messages.slice(-RECENT_MESSAGES), lastId }
}

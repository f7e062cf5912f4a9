/**
 * The todo list of one page view, kept in page state under one key: the items and the id counter
 * change together in one atomic `update`, so concurrent requests never lose an item or reuse an id.
 * Not routed (only `pages/` and `api/` are): pages import it.
 */
import type { PageState } from '@nex/state'

export type Todo = { id: number, text: string, done: boolean }
export type TodoList = { nextId: number, items: Todo[] }

/** Longest todo text, in UTF-16 code units (what the input's `maxlength` counts). */
export const MAX_TEXT_LENGTH = 500
/** Most todos one page view holds. */
export const MAX_TODOS = 200

const KEY = 'todos'
const EMPTY: TodoList = { nextId: 1, items: [] }

/** A request the list refuses; `statusCode` and the message reach the user (the error page shows 4xx messages). */
export class TodoError extends Error {
  readonly statusCode: number

  constructor (statusCode: number, message: string) {
    super(message)
    this.name = 'TodoError'
    this.statusCode = statusCode
  }
}

/** The trimmed text of a new todo, or a 422 TodoError saying what is wrong with it. */
export function checkText (raw: unknown): string {
  const text = typeof raw === 'string' ? raw.trim() : ''
  if (text === '') throw new TodoError(422, 'Write something to do first.')
  if (text.length > MAX_TEXT_LENGTH) {
    throw new TodoError(422, `A todo can be at most ${MAX_TEXT_LENGTH} characters long (this one has ${text.length}).`)
  }
  return text
}

/** A todo id from the query string (`?/toggle&id=3`), or a 400 TodoError. */
export function parseId (raw: unknown): number {
  const id = typeof raw === 'string' && /^[1-9]\d{0,8}$/.test(raw) ? Number(raw) : NaN
  if (!Number.isSafeInteger(id)) throw new TodoError(400, 'That is not a todo id.')
  return id
}

export async function listTodos (state: PageState): Promise<Todo[]> {
  return (await state.get(KEY, EMPTY)).items
}

/** Appends a todo; 422 when the list is full, 413 when the page state would grow past its byte limit. */
export async function addTodo (state: PageState, text: string): Promise<Todo> {
  let added: Todo | undefined
  try {
    await state.update(KEY, EMPTY, list => {
      if (list.items.length >= MAX_TODOS) {
        throw new TodoError(422, `The list is full (${MAX_TODOS} todos). Delete some before adding more.`)
      }
      added = { id: list.nextId, text, done: false }
      return { nextId: list.nextId + 1, items: [...list.items, added] }
    })
  } catch (error) {
    if ((error as { code?: unknown }).code === 'FST_NEX_STATE_PAGE_TOO_LARGE') {
      throw new TodoError(413, 'The list is too large to keep. Delete some todos or use shorter ones.')
    }
    throw error
  }
  return added as Todo
}

/** Flips a todo's `done`; 404 when this page view has no such todo. */
export async function toggleTodo (state: PageState, id: number): Promise<Todo> {
  let toggled: Todo | undefined
  await state.update(KEY, EMPTY, list => {
    const items = list.items.map(item => {
      if (item.id !== id) return item
      toggled = { ...item, done: !item.done }
      return toggled
    })
    if (toggled === undefined) throw new TodoError(404, 'That todo does not exist (any more).')
    return { nextId: list.nextId, items }
  })
  return toggled as Todo
}

/** Removes a todo. Deleting one that is already gone is not an error: either way it is gone. */
export async function deleteTodo (state: PageState, id: number): Promise<void> {
  await state.update(KEY, EMPTY, list => ({ nextId: list.nextId, items: list.items.filter(item => item.id !== id) }))
}

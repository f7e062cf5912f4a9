import { html, raw } from '@nex/html'
import type { Todo } from '../lib/todos.ts'

/**
 * One todo. Toggling answers with the item re-rendered (swapped in place), deleting with an empty
 * body (the outerHTML swap removes the item). The id travels in the action URL: `?/toggle&id=3`.
 */
export function todoItem (todo: Todo) {
  const { id, done } = todo
  return html`<li id="todo-${id}" data-testid="todo-item-${id}" class="todo${done ? ' done' : ''}">
  <input type="checkbox" data-testid="todo-toggle-${id}" aria-labelledby="todo-text-${id}"${done ? raw(' checked') : ''}
    hx-post="?/toggle&amp;id=${id}" hx-target="#todo-${id}" hx-swap="outerHTML">
  <span id="todo-text-${id}" data-testid="todo-text-${id}" class="todo-text${done ? ' line-through' : ''}">${todo.text}</span>
  <button type="button" class="delete" data-testid="todo-delete-${id}" aria-label="Delete" title="Delete"
    hx-post="?/delete&amp;id=${id}" hx-target="#todo-${id}" hx-swap="outerHTML">×</button>
</li>`
}

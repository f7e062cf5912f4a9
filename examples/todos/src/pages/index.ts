import { html } from '@nex/html'
import type { Context } from '@nex/routes'
import { addTodo, checkText, deleteTodo, listTodos, parseId, toggleTodo, TodoError, type Todo } from '../lib/todos.ts'
import { todoForm, type FormProblem } from '../partials/todo-form.ts'
import { todoItem } from '../partials/todo-item.ts'

export const head = { title: 'Todos' }

export async function load (ctx: Context) {
  return { todos: await listTodos(ctx.state) }
}

export const actions = {
  /** Answers htmx with the new item (appended to the list) and an empty form (out of band). */
  add: async (ctx: Context) => {
    const raw = ctx.body.text
    try {
      const todo = await addTodo(ctx.state, checkText(raw))
      return html`${todoItem(todo)}${todoForm(ctx, { oob: true })}`
    } catch (error) {
      if (!(error instanceof TodoError)) throw error
      // The form again, with the text and the message, in place of the form (not in the list).
      const problem = { value: typeof raw === 'string' ? raw : '', message: error.message }
      // Kept for the page re-rendered after a plain (no-JS) form post, which shows it in the form.
      ctx.locals.problem = problem
      ctx.status(error.statusCode).retarget('#todo-form').reswap('outerHTML')
      return todoForm(ctx, { problem })
    }
  },
  toggle: async (ctx: Context) => todoItem(await toggleTodo(ctx.state, parseId(ctx.query.id))),
  delete: async (ctx: Context) => {
    await deleteTodo(ctx.state, parseId(ctx.query.id))
    return ''
  }
}

export default function render (ctx: Context, data: { todos: Todo[] }) {
  const problem = ctx.locals.problem as FormProblem | undefined
  // After a plain form post the page is shown again: focus the input to keep typing.
  const autofocus = ctx.request.method === 'POST'
  return html`<section data-testid="todos-page" class="todos">
  <h1>Todo List</h1>
  ${todoForm(ctx, problem === undefined ? { autofocus } : { problem, autofocus })}
  <ul id="todo-list" data-testid="todo-list" class="todo-list">${data.todos.map(todoItem)}</ul>
  <p class="hint">This list belongs to this page view: another tab has its own, a reload starts a new one.</p>
</section>`
}

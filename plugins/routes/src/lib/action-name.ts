/**
 * Finds the action a request names. Actions are posted to their page's own URL with `?/name`
 * (`hx-post="?/increment"`, `<form action="?/increment">`), SvelteKit's form: the URL never depends on
 * `Referer` and cannot collide with a page route. Pure.
 */

/** The default action, run for a post without `?/name`. */
export const DEFAULT_ACTION = 'default'

const NAME = /^[A-Za-z_$][\w$-]*$/

/**
 * The action name in a raw request URL (`/todos?/add&x=1` → `add`), `DEFAULT_ACTION` when the query
 * names none, or null when the name is not a valid identifier (it then matches no action).
 */
export function parseActionName (rawUrl: string): string | null {
  const query = rawUrl.indexOf('?')
  if (query === -1 || rawUrl.charCodeAt(query + 1) !== 47 /* / */) return DEFAULT_ACTION
  let end = rawUrl.indexOf('&', query + 2)
  if (end === -1) end = rawUrl.length
  let name = rawUrl.slice(query + 2, end)
  if (name.includes('%')) {
    try {
      name = decodeURIComponent(name)
    } catch {
      return null
    }
  }
  return NAME.test(name) ? name : null
}

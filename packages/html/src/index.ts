/**
 * @nex/html — an escaping `html` tagged template.
 *
 * Every interpolated value is escaped unless it is already `SafeHtml` (the result of `html` or `raw`),
 * so templates nest without double escaping. Arrays are flattened, `null`, `undefined` and `false` are
 * skipped, and a promise anywhere in the values makes the result a `Promise<SafeHtml>`.
 */
import { escapeHtml } from './escape.js'

export { escapeHtml } from './escape.js'

/** Brand shared by every copy of this package, so `SafeHtml` from another instance is still trusted. */
const kSafeHtml: unique symbol = Symbol.for('@nex/html.safe') as never

/** Markup that is safe to send as is: made by `html` (escaped) or `raw` (trusted by the caller). */
export class SafeHtml {
  readonly [kSafeHtml] = true
  /** The markup. */
  readonly value: string

  constructor (value: string) {
    this.value = value
  }

  toString (): string {
    return this.value
  }

  toJSON (): string {
    return this.value
  }
}

/** Anything `html` accepts as an interpolated value. */
export type HtmlValue =
  | SafeHtml
  | string
  | number
  | bigint
  | boolean
  | null
  | undefined
  | readonly HtmlValue[]
  | Promise<unknown>

/** True when `T` is, or is an array holding, a promise. */
type ContainsPromise<T> = T extends PromiseLike<unknown>
  ? true
  : T extends readonly (infer E)[] ? ContainsPromise<E> : false

/** What `html` returns for these values: a promise only when one of them may be a promise. */
export type HtmlResult<V extends readonly unknown[]> = true extends ContainsPromise<V[number]> ? Promise<SafeHtml> : SafeHtml

/** What a render or layout function may return. */
export type Renderable = string | SafeHtml | Promise<string | SafeHtml>

/** Whether `value` is `SafeHtml`, from this or any other copy of `@nex/html`. */
export function isSafeHtml (value: unknown): value is SafeHtml {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kSafeHtml] === true
}

/** Marks trusted markup as safe. Never pass user input here. */
export function raw (markup: string | SafeHtml): SafeHtml {
  return isSafeHtml(markup) ? markup : new SafeHtml(String(markup))
}

/** Turns a value into markup, or returns a promise when the value holds one. */
function render (value: unknown): string | Promise<string> {
  if (typeof value === 'string') return escapeHtml(value)
  if (value === null || value === undefined || value === false) return ''
  if (typeof value === 'object') {
    if ((value as Record<symbol, unknown>)[kSafeHtml] === true) return (value as SafeHtml).value
    if (Array.isArray(value)) return renderList(value)
    if (typeof (value as PromiseLike<unknown>).then === 'function') {
      return Promise.resolve(value).then(resolved => render(resolved))
    }
  }
  return escapeHtml(String(value))
}

function renderList (values: readonly unknown[]): string | Promise<string> {
  let out = ''
  for (let i = 0; i < values.length; i++) {
    const part = render(values[i])
    if (typeof part !== 'string') return finishAsync(out, part, values, i + 1, null)
    out += part
  }
  return out
}

/**
 * Finishes a render that met a promise: awaits every remaining part in order. `strings` is the
 * template's literal parts (the part before value `i` is `strings[i]`), or null for a plain list.
 */
async function finishAsync (
  head: string,
  pending: Promise<string>,
  values: readonly unknown[],
  next: number,
  strings: TemplateStringsArray | null
): Promise<string> {
  let out = head + await pending
  for (let i = next; i < values.length; i++) {
    if (strings !== null) out += strings[i]
    out += await render(values[i])
  }
  if (strings !== null) out += strings[values.length]
  return out
}

/**
 * The escaping template tag.
 *
 * ```ts
 * html`<li id="todo-${todo.id}">${todo.text}</li>`
 * ```
 * Returns `SafeHtml`, or `Promise<SafeHtml>` when a value is (or holds) a promise.
 */
export function html<V extends readonly unknown[]> (strings: TemplateStringsArray, ...values: V): HtmlResult<V>
export function html (strings: TemplateStringsArray, ...values: readonly unknown[]): SafeHtml | Promise<SafeHtml> {
  let out = strings[0] as string
  for (let i = 0; i < values.length; i++) {
    const value = values[i]
    let part: string | Promise<string>
    // Inline the two hottest cases (plain strings and nested SafeHtml) to keep the call count low.
    if (typeof value === 'string') part = escapeHtml(value)
    else if (typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kSafeHtml] === true) {
      part = (value as SafeHtml).value
    } else part = render(value)
    if (typeof part !== 'string') {
      return finishAsync(out, part, values, i + 1, strings).then(markup => new SafeHtml(markup))
    }
    out += part + (strings[i + 1] as string)
  }
  return new SafeHtml(out)
}

/** Resolves whatever a render function returned into a markup string. */
export async function renderToString (value: unknown): Promise<string> {
  const part = render(await value)
  return typeof part === 'string' ? part : await part
}

/**
 * Joins values into one `SafeHtml`, escaping strings; with a separator between them.
 * Handy for `join(items.map(renderItem), '\n')`.
 */
export function join (values: readonly HtmlValue[], separator: HtmlValue = ''): SafeHtml {
  const sep = render(separator)
  if (typeof sep !== 'string') throw new TypeError('@nex/html: join() separator must not be a promise')
  let out = ''
  for (let i = 0; i < values.length; i++) {
    const part = render(values[i])
    if (typeof part !== 'string') throw new TypeError('@nex/html: join() values must not be promises; await them first')
    out += i === 0 ? part : sep + part
  }
  return new SafeHtml(out)
}

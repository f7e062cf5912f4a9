/**
 * Loaded route modules, checked once when loaded. Routes hold `ModuleSlot`s, not modules, so a reload
 * (live reload, a later plugin) swaps a slot's module and every route using it sees the new code on
 * its next request.
 */
import type { Renderable } from '@nex/html'
import type { FastifySchema } from 'fastify'
import type { Context, Head, NexResponse } from './context.js'
import { InvalidRouteFileError } from './errors.js'
import type { ModuleLoader, ModuleNamespace } from './loader.js'
import { displayPath } from './route-table.js'

/** The result of an action or API handler. */
export type HandlerResult = Renderable | NexResponse | object | number | boolean | null | undefined | void

export type RenderFunction<D = unknown> = (ctx: Context, data: D) => Renderable
export type LoadFunction<D = unknown> = (ctx: Context) => D | Promise<D>
export type ActionFunction = (ctx: Context) => HandlerResult | Promise<HandlerResult>
/**
 * A stream handler: an async generator function whose yields are sent, or a `stream()`-marked function
 * given the open stream (an `SseStream` of @nex/sse).
 */
export type StreamFunction = (ctx: Context, stream: any) => unknown
export type LayoutFunction = (ctx: Context, content: import('@nex/html').SafeHtml) => Renderable

export interface PageModule {
  default: RenderFunction
  load?: LoadFunction
  actions?: Record<string, ActionFunction>
  /** Served as `text/event-stream` at `GET <page url>?/stream` (needs @nex/sse). */
  stream?: StreamFunction
  head?: Head | ((ctx: Context, data: unknown) => Head)
  schema?: FastifySchema
  config?: Record<string, unknown>
}

export interface LayoutModule {
  default: LayoutFunction
}

export const API_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const
export type ApiMethod = typeof API_METHODS[number]

/**
 * A WebSocket handler (needs @nex/websocket): callbacks `{ open, message, close, error }` or a function
 * called on open. Each gets the socket; `socket.context` is the route's `Context` (params, state, session).
 */
export type SocketDefinition = Record<string, unknown> | ((socket: any) => unknown)

export type ApiModule = Partial<Record<ApiMethod, ActionFunction>> & {
  /** Served as a WebSocket at the file's URL (an upgrade GET), next to its HTTP methods. */
  socket?: SocketDefinition
  schema?: Partial<Record<ApiMethod, FastifySchema>>
  config?: Record<string, unknown>
}

export type ModuleKind = 'page' | 'layout' | 'api'

export interface ModuleSlot<M> {
  readonly file: string
  readonly kind: ModuleKind
  module: M
}

/** Checks a module's exports; returns a message for the first problem, or null. */
export function checkModule (kind: ModuleKind, mod: ModuleNamespace): string | null {
  if (kind === 'api') {
    const methods = API_METHODS.filter(m => m in mod)
    const socket = mod.socket
    if (socket !== undefined && (typeof socket !== 'function' && (typeof socket !== 'object' || socket === null))) {
      return 'the socket export must be WebSocket callbacks { open, message, close } or a function (socket) => …'
    }
    if (methods.length === 0 && socket === undefined) return 'export at least one handler named GET, POST, PUT, PATCH or DELETE, or a socket'
    const bad = methods.find(m => typeof mod[m] !== 'function')
    if (bad !== undefined) return `the ${bad} export must be a function (ctx) => value`
    return null
  }
  if (typeof mod.default !== 'function') {
    return kind === 'layout'
      ? 'export default a layout function (ctx, content) => html`...`'
      : 'export default a render function (ctx, data) => html`...`'
  }
  if (kind === 'page') {
    if (mod.load !== undefined && typeof mod.load !== 'function') return 'the load export must be a function (ctx) => data'
    if (mod.stream !== undefined && typeof mod.stream !== 'function') return 'the stream export must be an async generator function (ctx) or stream((ctx, stream) => …) from @nex/sse'
    const actions = mod.actions
    if (actions !== undefined) {
      if (typeof actions !== 'object' || actions === null) return 'the actions export must be an object of functions'
      for (const name of Object.keys(actions)) {
        if (typeof (actions as Record<string, unknown>)[name] !== 'function') return `the action "${name}" must be a function (ctx) => response`
      }
    }
  }
  return null
}

/** Loads each module file once and keeps its slot. */
export class ModuleRegistry {
  readonly #slots = new Map<string, ModuleSlot<unknown>>()
  readonly #loader: ModuleLoader
  readonly #dir: string

  constructor (loader: ModuleLoader, dir: string) {
    this.#loader = loader
    this.#dir = dir
  }

  async load<M> (file: string, kind: ModuleKind): Promise<ModuleSlot<M>> {
    const known = this.#slots.get(file)
    if (known !== undefined) return known as ModuleSlot<M>
    const module = await this.#loader.import(file)
    this.#check(file, kind, module)
    const slot: ModuleSlot<M> = { file, kind, module: module as M }
    this.#slots.set(file, slot as ModuleSlot<unknown>)
    return slot
  }

  /** Loads the current version of a file into its slot (live reload). Throws, keeping the old module, when the new one is invalid. */
  async reload (file: string): Promise<boolean> {
    const slot = this.#slots.get(file)
    if (slot === undefined) return false
    const module = await this.#loader.reload(file)
    this.#check(file, slot.kind, module)
    slot.module = module
    return true
  }

  get files (): string[] {
    return [...this.#slots.keys()]
  }

  #check (file: string, kind: ModuleKind, module: ModuleNamespace): void {
    const problem = checkModule(kind, module)
    if (problem !== null) throw new InvalidRouteFileError(displayPath(this.#dir, file), problem)
  }
}

/** Options of the nexErrors plugin: defaults, validation at register time, freezing. */
import { FST_NEX_ERRORS_INVALID_OPTION } from './app-errors.js'
import { describe } from './health-options.js'

export interface ErrorHandlerOptions {
  /**
   * Development: 5xx answers show the error's message and stack. Outside development a 5xx shows only
   * a generic text for its status (a 503 keeps its code). Give @nex/routes the same value: its error
   * pages follow its own `dev`. @default process.env.NODE_ENV !== 'production'
   */
  dev?: boolean
  /**
   * Answer URLs no route matches with the same error page (404, "Not found", never the URL). Kept out
   * of the way of any not-found handler the app sets at the root, before or after this plugin
   * (@nex/routes sets one for its prefix). @default true
   */
  notFound?: boolean
}

export interface NormalizedErrorHandlerOptions {
  readonly dev: boolean
  readonly notFound: boolean
}

export const ERRORS_DEFAULTS = Object.freeze({
  notFound: true
})

function flag (options: ErrorHandlerOptions, name: keyof ErrorHandlerOptions, fallback: boolean): boolean {
  const value = options[name] ?? fallback
  if (typeof value !== 'boolean') throw new FST_NEX_ERRORS_INVALID_OPTION(name, 'true or false', describe(value))
  return value
}

export function normalizeErrorsOptions (options: ErrorHandlerOptions = {}): NormalizedErrorHandlerOptions {
  if (typeof options !== 'object' || options === null) {
    throw new FST_NEX_ERRORS_INVALID_OPTION('options', 'an object', describe(options))
  }
  return Object.freeze({
    dev: flag(options, 'dev', process.env.NODE_ENV !== 'production'),
    notFound: flag(options, 'notFound', ERRORS_DEFAULTS.notFound)
  })
}

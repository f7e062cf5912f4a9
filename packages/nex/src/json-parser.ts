/**
 * The JSON body parser `createServer()` installs on the root instance: Fastify's own parser (so
 * `__proto__` and `constructor` poisoning keep answering 400 as `onProtoPoisoning`/`onConstructorPoisoning`
 * say, and an empty body keeps its `FST_ERR_CTP_EMPTY_JSON_BODY`), behind a one-pass scan that refuses a
 * body nesting deeper than `maxJsonDepth` before `JSON.parse` sees it (PAR-06: 64 KiB of `[` cost 2–10 ms
 * of event loop each; refused by the scan, they cost microseconds).
 *
 * A body too deep gets Fastify's `FST_ERR_CTP_INVALID_JSON_BODY` (400), the code clients and error
 * handlers already know for "this JSON body is refused", with a message naming the limit; the body is
 * never repeated.
 *
 * It replaces Fastify's default `application/json` parser, so an app that wants its own calls
 * `app.removeContentTypeParser('application/json')` before `addContentTypeParser` (Fastify lets its
 * default be overridden silently, not another parser).
 */
import { errorCodes, type FastifyInstance } from 'fastify'
import { exceedsJsonDepth } from './lib/json-depth.js'

const { FST_ERR_CTP_INVALID_JSON_BODY } = errorCodes

/** Replaces the `application/json` parser of `app` (before it starts) with the depth-checking one. */
export function installJsonParser (app: FastifyInstance, maxJsonDepth: number): void {
  const { onProtoPoisoning = 'error', onConstructorPoisoning = 'error' } = app.initialConfig
  const parse = app.getDefaultJsonParser(onProtoPoisoning, onConstructorPoisoning)
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, function parseJson (request, body, done) {
    const text = body as string // parseAs: 'string'
    if (exceedsJsonDepth(text, maxJsonDepth)) {
      const error = new FST_ERR_CTP_INVALID_JSON_BODY()
      error.message = `Body is JSON nested deeper than ${maxJsonDepth} levels (the maxJsonDepth server option)`
      done(error, undefined)
      return
    }
    parse(request, text, done)
  })
}

/**
 * The nex error catalogue. Only `createError` calls; codes are never reused, new ones are appended.
 * The README's errors table explains each.
 */
import createError from '@fastify/error'

export const FST_NEX_INVALID_OPTION = createError<[option: string, allowed: string, got: string]>(
  'FST_NEX_INVALID_OPTION',
  'nex: option "%s" must be %s, got %s',
  500,
  TypeError
)

// Health, readiness and shutdown errors live next to their code; one catalogue for the package.
export * from './lifecycle-errors.js'
export * from './app-errors.js'

export const FST_NEX_HEADER_LIST_TOO_LARGE = createError<[size: number, limit: number]>(
  'FST_NEX_HEADER_LIST_TOO_LARGE',
  'Request header fields too large: a header list of %d bytes, over %d',
  431
)

/**
 * The default `maxConnections` from the process's open-files limit: every connection is a file
 * descriptor, and a server that accepts connections until `accept()` fails with EMFILE can no longer open
 * a file, reach Redis or write a log, and resets connections instead of refusing them at its cap
 * (NET-06). Pure: no Fastify, no I/O (the caller reads `/proc/self/limits`).
 */

/** The cap when the open-files limit is unknown, or high enough not to matter. */
export const MAX_CONNECTIONS_CEILING = 10_000
/** Descriptors kept for everything but client connections (files, Redis, logs, Node's own), at least. */
export const MIN_FD_HEADROOM = 64

/**
 * The soft "Max open files" limit in the text of Linux's `/proc/<pid>/limits`, or null when it is
 * unlimited or the line is missing or unreadable.
 */
export function parseOpenFilesLimit (limits: string): number | null {
  const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1]
  if (soft === undefined || !/^\d+$/.test(soft)) return null
  const value = Number(soft)
  return Number.isSafeInteger(value) && value > 0 ? value : null
}

/**
 * Descriptors left for everything but client connections under a soft limit of `soft`: 10 % of it, at
 * least MIN_FD_HEADROOM, but never more than half of it (a tiny limit still serves some connections).
 */
export function fdHeadroom (soft: number): number {
  return Math.min(Math.max(MIN_FD_HEADROOM, Math.ceil(soft / 10)), Math.floor(soft / 2))
}

/**
 * The default `maxConnections`: `min(10_000, soft - fdHeadroom(soft))`, at least 1; 10 000 when the
 * limit is unknown (`null`). 512 gives 448, 1 024 gives 921, 65 536 and more give 10 000.
 */
export function maxConnectionsFor (soft: number | null): number {
  if (soft === null) return MAX_CONNECTIONS_CEILING
  return Math.max(1, Math.min(MAX_CONNECTIONS_CEILING, soft - fdHeadroom(soft)))
}

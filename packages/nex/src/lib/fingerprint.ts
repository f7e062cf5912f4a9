/**
 * Which static file names carry a content hash (and so can be cached for a year). Pure.
 *
 * A hash is a `.` or `-` followed by 8–64 letters, digits or `_`, with at least one digit and one
 * letter, just before the extension(s): what webpack (`[name].[contenthash].js`), Vite and Rollup
 * (`[name]-[hash].js`) and esbuild (`[name]-[hash]`) write by default. Requiring both a digit and a
 * letter keeps words (`app.settings.js`) and dates (`report-20240101.pdf`) out; a hash that happens to
 * have no digit is only served with revalidation, which is safe. A wrong "immutable" is not: a changed
 * file under the same name would stay cached for a year.
 */

export const FINGERPRINTED = /[.-](?=[A-Za-z0-9_]*\d)(?=[A-Za-z0-9_]*[A-Za-z])[A-Za-z0-9_]{8,64}(?:\.[A-Za-z0-9]+)+$/

const IMMUTABLE = 'public, max-age=31536000, immutable'

/** The `Cache-Control` of a file by its name: immutable for a year when it carries a hash, else revalidated. */
export function createCacheControl (immutable: RegExp | null, maxAge: number): (fileName: string) => string {
  const revalidate = `public, max-age=${maxAge}, must-revalidate`
  if (immutable === null) return () => revalidate
  return (fileName) => immutable.test(fileName) ? IMMUTABLE : revalidate
}

/**
 * A Content-Security-Policy compiled once: the header text without nonces, and the text around the places
 * the per-request nonces go, so a request that uses nonces pays for a few string concatenations and never
 * re-serialises the policy (which @fastify/helmet does on every request). Pure: the directives were
 * validated by `normalizeOptions`.
 */

/** One directive: its name (lower-case, `script-src`) and sources (`'self'`, `https://cdn.example`). */
export interface CspDirective {
  readonly name: string
  readonly sources: readonly string[]
}

export interface CompiledCsp {
  /** `content-security-policy`, or `content-security-policy-report-only`. */
  readonly header: string
  /** The policy without nonce sources, for replies that never read `reply.cspNonce`. */
  readonly plain: string
  /** Whether any directive takes a nonce (otherwise `withNonces` returns `plain`). */
  readonly usesNonces: boolean
  /**
   * Whether a `<script src>` of this site needs the nonce to run: its directive (`script-src-elem`, else
   * `script-src`, else `default-src`) lacks `'self'`, or has `'strict-dynamic'` (which makes browsers ignore
   * `'self'`). Under the default policy it does not, so pages that load only the site's own script files
   * never create a nonce (nor rewrite the header).
   */
  readonly sameOriginScriptsNeedNonce: boolean
  /** The policy with the script nonce in `script-src`/`script-src-elem` and the style nonce in `style-src`/`style-src-elem`. */
  withNonces (script: string, style: string): string
}

type NonceKind = 'script' | 'style'

/** Directives that receive a nonce, and which one. Nonces do not apply to attributes (`*-attr`). */
const NONCE_TARGETS: ReadonlyMap<string, NonceKind> = new Map([
  ['script-src', 'script'],
  ['script-src-elem', 'script'],
  ['style-src', 'style'],
  ['style-src-elem', 'style']
])

/**
 * Whether a nonce would change what `sources` allow. `'none'` must stand alone (with another source it
 * is ignored), and a nonce makes browsers ignore `'unsafe-inline'`, so neither directive gets one.
 */
function takesNonce (sources: readonly string[]): boolean {
  return !sources.some(source => {
    const lower = source.toLowerCase()
    return lower === "'none'" || lower === "'unsafe-inline'"
  })
}

export function compileCsp (directives: readonly CspDirective[], reportOnly: boolean): CompiledCsp {
  const header = reportOnly ? 'content-security-policy-report-only' : 'content-security-policy'
  const plainParts: string[] = []
  // The policy text cut at each nonce: segments[i] + nonce(slots[i]) + segments[i + 1] + …
  const segments: string[] = ['']
  const slots: NonceKind[] = []
  for (const { name, sources } of directives) {
    const text = sources.length === 0 ? name : `${name} ${sources.join(' ')}`
    const separator = plainParts.length === 0 ? '' : '; '
    plainParts.push(text)
    const kind = NONCE_TARGETS.get(name)
    if (kind !== undefined && takesNonce(sources)) {
      segments[segments.length - 1] += `${separator}${text} 'nonce-`
      slots.push(kind)
      segments.push("'")
    } else {
      segments[segments.length - 1] += `${separator}${text}`
    }
  }
  const plain = plainParts.join('; ')
  return Object.freeze({
    header,
    plain,
    usesNonces: slots.length > 0,
    sameOriginScriptsNeedNonce: sameOriginScriptsNeedNonce(directives),
    withNonces: joinNonces(plain, segments, slots)
  })
}

function sameOriginScriptsNeedNonce (directives: readonly CspDirective[]): boolean {
  const sourcesOf = (name: string): string[] | undefined => directives.find((directive) => directive.name === name)?.sources.map((source) => source.toLowerCase())
  const sources = sourcesOf('script-src-elem') ?? sourcesOf('script-src') ?? sourcesOf('default-src')
  if (sources === undefined) return false
  return !sources.includes("'self'") || sources.includes("'strict-dynamic'")
}

function joinNonces (plain: string, segments: readonly string[], slots: readonly NonceKind[]): (script: string, style: string) => string {
  if (slots.length === 0) return () => plain
  // The default policy: one script and one style directive.
  if (slots.length === 2 && slots[0] === 'script' && slots[1] === 'style') {
    const [a, b, c] = segments as [string, string, string]
    return (script, style) => a + script + b + style + c
  }
  return (script, style) => {
    let text = segments[0] as string
    for (let i = 0; i < slots.length; i++) text += (slots[i] === 'script' ? script : style) + (segments[i + 1] as string)
    return text
  }
}

/**
 * Serves htmx (from node_modules, never a CDN) and the Nex client script below `<prefix>/_nex/`, at
 * versioned URLs with a one-year immutable cache, and renders the `<script>` tags that load them.
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply } from 'fastify'
import fastifyStatic from '@fastify/static'
import { html, type SafeHtml } from '@nex/html'
import { InvalidOptionError } from './errors.js'

const CLIENT_DIR = fileURLToPath(new URL('../client/', import.meta.url))

/** The per-response CSP nonces of a security plugin (@nex/security, @fastify/helmet): `reply.cspNonce`. */
interface CspNonces {
  script?: string
  style?: string
}
const CLIENT_FILE = 'nex-client.js'

export interface Assets {
  /** URL of the htmx script. */
  readonly htmxUrl: string
  /** URL of the Nex client script. */
  readonly clientUrl: string
  /**
   * `<script>` tags for both, then for each named htmx extension (`'sse'`, `'ws'`, … from htmx's
   * `dist/ext/hx-<name>.js`), with the CSP nonce of the reply when a security plugin set one and the policy
   * needs it for the site's own files (and, for htmx 2, its style nonce in `<meta name="htmx-config">` for
   * the indicator styles it injects).
   */
  scriptTags (reply: FastifyReply, extensions?: readonly string[]): SafeHtml
}

/** Finds the htmx package's `dist/` folder and version, resolving the package from the app first. */
function locateHtmx (packageName: string, appDir: string): { dist: string, version: string } {
  for (const from of [join(appDir, 'noop.js'), fileURLToPath(import.meta.url)]) {
    try {
      const manifest = createRequire(from).resolve(`${packageName}/package.json`)
      const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }
      return { dist: join(dirname(manifest), 'dist'), version }
    } catch {}
  }
  throw new InvalidOptionError('htmx', JSON.stringify(packageName), 'install that package (npm install htmx.org)')
}

export async function registerAssets (app: FastifyInstance, prefix: string, htmxPackage: string, appDir: string): Promise<Assets> {
  const htmx = locateHtmx(htmxPackage, appDir)
  const clientHash = createHash('sha256').update(readFileSync(join(CLIENT_DIR, CLIENT_FILE))).digest('base64url').slice(0, 12)
  const htmxBase = `/_nex/htmx@${htmx.version}/`
  const clientBase = `/_nex/client@${clientHash}/`
  const common = {
    decorateReply: false,
    immutable: true,
    maxAge: '365d',
    dotfiles: 'ignore',
    index: false,
    list: false,
    allowedPath: (path: string) => path.endsWith('.js') || path.endsWith('.js.map')
  } as const
  await app.register(fastifyStatic, { ...common, root: htmx.dist, prefix: htmxBase })
  await app.register(fastifyStatic, { ...common, root: CLIENT_DIR, prefix: clientBase })

  const htmxUrl = `${prefix}${htmxBase}htmx.min.js`
  const clientUrl = `${prefix}${clientBase}${CLIENT_FILE}`
  const extensionNames = new Set(readdirSync(join(htmx.dist, 'ext')).flatMap(file => /^hx-([a-z0-9-]+)\.min\.js$/.exec(file)?.[1] ?? []))
  const extensionUrl = (name: string): string => {
    if (!extensionNames.has(name)) {
      throw new InvalidOptionError('extensions', JSON.stringify(name), `htmx ${htmx.version} has these extensions: ${[...extensionNames].join(', ')}`)
    }
    return `${prefix}${htmxBase}ext/hx-${name}.min.js`
  }
  // htmx itself is parser-blocking (it is cached for a year), the rest deferred: htmx then runs while the
  // document is still loading and waits for DOMContentLoaded, which comes after every deferred script, so
  // the Nex client and the extensions are in place before htmx processes the page. Deferred too, htmx would
  // start on a timer once it ran, possibly before a later script arrived: its `hx-sse:connect` never opened.
  // htmx 2 injects a <style> for its indicators: under a CSP it needs the reply's style nonce, which it
  // reads from <meta name="htmx-config">. htmx 4 adopts a style sheet instead and needs nothing.
  const injectsStyle = Number(htmx.version.split('.')[0]) < 4
  // Reading `reply.cspNonce` creates the nonces and puts them in the CSP header: only when a tag needs one.
  // @nex/security says whether this site's own script files do (not under its default `script-src 'self'`);
  // another CSP plugin (@fastify/helmet) is assumed to need them. Decided once, when every plugin is in.
  let needsNonces = true
  app.addHook('onReady', function decideNonces (done) {
    const csp = (app as { nexSecurity?: { csp: { sameOriginScriptsNeedNonce: boolean } | null } }).nexSecurity?.csp
    needsNonces = injectsStyle || csp == null || csp.sameOriginScriptsNeedNonce
    done()
  })
  const tags = (nonces: CspNonces | undefined, extensions: readonly string[]): SafeHtml => {
    const deferred = [clientUrl, ...extensions.map(extensionUrl)]
    const nonce = nonces?.script
    const attributes = nonce === undefined ? html`` : html` nonce="${nonce}"`
    const config = injectsStyle && nonces?.style !== undefined
      ? html`<meta name="htmx-config" content="${JSON.stringify({ inlineStyleNonce: nonces.style })}">`
      : null
    return html`${config}<script src="${htmxUrl}"${attributes}></script>${deferred.map(url => html`<script src="${url}"${attributes} defer></script>`)}`
  }
  const plain = tags(undefined, [])
  return {
    htmxUrl,
    clientUrl,
    scriptTags (reply, extensions = []) {
      const nonces = needsNonces ? (reply as FastifyReply & { cspNonce?: CspNonces | null }).cspNonce ?? undefined : undefined
      if (nonces === undefined && extensions.length === 0) return plain
      return tags(nonces, extensions)
    }
  }
}

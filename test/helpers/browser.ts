/**
 * Browser end-to-end helpers: Debian's Chromium through playwright-core, a real server on a free
 * loopback port, a fresh browser context per test that records console errors, page errors and dialogs.
 *
 * In-page code is passed as strings (`page.evaluate('…')`): the root tsconfig has no DOM lib, on
 * purpose, so server code cannot use browser globals by mistake.
 */
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core'

/** The tap test object, reduced to what these helpers use. */
interface Teardown {
  teardown (fn: () => unknown): void
}

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

/** How long a wait on page state may take before the test fails. */
export const WAIT_MS = 5_000

/** One headless Chromium for a test file; closed by the teardown of `t`. */
export async function launchBrowser (t: Teardown): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true })
  t.teardown(async () => await browser.close())
  return browser
}

/** Makes `app` listen on a free port of 127.0.0.1 and returns its base URL; closed by the teardown of `t`. */
export async function serve (t: Teardown, app: FastifyInstance): Promise<string> {
  t.teardown(async () => await app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return `http://127.0.0.1:${port}`
}

/** A browser context and what its pages reported. */
export interface Session {
  readonly context: BrowserContext
  /** Console errors and uncaught exceptions of every page of the context, in order. */
  readonly errors: string[]
  /** Messages of every dialog (alert, confirm, prompt) a page opened; each is dismissed. */
  readonly dialogs: string[]
  /** A new tab in this context. */
  newPage (): Promise<Page>
}

/** A new browser context (cookies, storage and cache of its own), closed by the teardown of `t`. */
export async function newSession (t: Teardown, browser: Browser, options: BrowserContextOptions = {}): Promise<Session> {
  const context = await browser.newContext(options)
  context.setDefaultTimeout(WAIT_MS)
  t.teardown(async () => await context.close())
  const errors: string[] = []
  const dialogs: string[] = []
  const watched = new WeakSet<Page>()
  const watch = (page: Page): void => {
    if (watched.has(page)) return
    watched.add(page)
    page.on('console', message => {
      if (message.type() !== 'error') return
      const { url } = message.location()
      errors.push(`console: ${message.text()}${url === '' ? '' : ` (${url})`}`)
    })
    page.on('pageerror', error => errors.push(`pageerror: ${error.message}`))
    page.on('dialog', dialog => {
      dialogs.push(`${dialog.type()}: ${dialog.message()}`)
      dialog.dismiss().catch(() => {})
    })
  }
  context.on('page', watch)
  return {
    context,
    errors,
    dialogs,
    async newPage () {
      const page = await context.newPage()
      watch(page)
      return page
    }
  }
}

/** A locator for `data-testid="<id>"`. */
export function byTestId (page: Page, testId: string, extra = '') {
  return page.locator(`[data-testid="${testId}"]${extra}`)
}

/** Waits until the element with this test id has exactly this text (trimmed), visible unless empty. */
export async function waitForText (page: Page, testId: string, text: string): Promise<void> {
  const locator = byTestId(page, testId).filter({ hasText: new RegExp(`^\\s*${escapeRegExp(text)}\\s*$`) })
  try {
    await locator.waitFor({ state: text.trim() === '' ? 'attached' : 'visible' })
  } catch (error) {
    const actual = await byTestId(page, testId).textContent({ timeout: 100 }).catch(() => '(no such element)')
    throw new Error(`[data-testid="${testId}"] never showed ${JSON.stringify(text)}; it shows ${JSON.stringify(actual)}`, { cause: error })
  }
}

/** The page's script elements: each one's `src` (or `inline`), followed by ` nonce` when it carries one. */
export async function pageScripts (page: Page): Promise<string[]> {
  return await page.evaluate('[...document.scripts].map(script => (script.getAttribute("src") ?? "inline") + (script.hasAttribute("nonce") ? " nonce" : ""))') as string[]
}

/** Whether `scripts` (from `pageScripts`) are Nex's files of this site only: at least one, none inline, none with a nonce. */
export function onlyOwnScriptFiles (scripts: readonly string[]): boolean {
  return scripts.length > 0 && scripts.every(script => /^\/_nex\/\S+$/.test(script))
}

/**
 * Waits until htmx has processed the page: htmx 4 marks the elements it wired up; htmx 2 processes
 * the body on DOMContentLoaded, so once it is loaded after that event the page is ready.
 */
export async function waitForHtmx (page: Page): Promise<void> {
  await page.waitForFunction(`window.htmx !== undefined && (String(window.htmx.version).startsWith('2.')
    ? document.readyState !== 'loading'
    : document.querySelector('[data-htmx-powered]') !== null)`)
}

/**
 * Runs `act` (a click that makes htmx replace the elements matching `selector`) and waits until they
 * were replaced: they are marked first, and the wait ends when an unmarked one is in the page. This
 * sees a swap even when the new content looks the same as the old (a counter staying at 0).
 */
export async function afterSwap (page: Page, selector: string, act: () => Promise<unknown>): Promise<void> {
  await page.evaluate(`document.querySelectorAll(${JSON.stringify(selector)}).forEach(e => e.setAttribute('data-e2e-stale', ''))`)
  await act()
  await page.locator(`${selector}:not([data-e2e-stale])`).first().waitFor({ state: 'attached' })
}

/**
 * Runs `act` (a click that submits a form without JavaScript) and waits until the page it leads to
 * has loaded.
 */
export async function afterNavigation (page: Page, act: () => Promise<unknown>): Promise<void> {
  const navigated = page.waitForEvent('framenavigated', frame => frame === page.mainFrame())
  await act()
  await navigated
  await page.waitForLoadState('load')
}

function escapeRegExp (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

import { chromium } from 'playwright-core'
import { build } from '../../examples/counter/app.js'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../helpers/browser.ts'
const app = await build({ logger: false }, { routes: { htmx: process.env.HTMX ?? 'htmx2' } })
await app.listen({ port: 0, host: '127.0.0.1' })
const base = `http://127.0.0.1:${(app.server.address() as any).port}`
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
const page = await browser.newPage()
page.on('console', m => console.log('console', m.type(), m.text()))
page.on('pageerror', e => console.log('pageerror', e.message))
page.on('request', r => { if (r.method() === 'POST') console.log('POST', r.url(), JSON.stringify(r.headers())) })
page.on('response', r => { if (r.request().method() === 'POST') console.log('->', r.status()) })
await page.goto(base + '/')
await page.waitForTimeout(500)
console.log(await page.evaluate('window.htmx.version'))
await page.click('[data-testid="counter-increment"]')
await page.waitForTimeout(800)
console.log(await page.textContent('[data-testid="counter-value"]'))
await browser.close(); await app.close()

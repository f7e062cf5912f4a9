import t from 'tap'
import fc from 'fast-check'
import { escapeHtml, html, isSafeHtml, join, raw, renderToString, SafeHtml } from '../src/index.js'

t.test('escapes every interpolated string', async t => {
  t.equal(html`<p>${'<b>"Tom" & \'Jerry\'</b>'}</p>`.value, '<p>&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;</p>')
  t.equal(html`<a title="${'" onmouseover="alert(1)'}">x</a>`.value, '<a title="&quot; onmouseover=&quot;alert(1)">x</a>')
  t.equal(html`<i>${'plain'}</i>`.value, '<i>plain</i>')
})

t.test('SafeHtml nests without double escaping', async t => {
  const inner = html`<b>${'&'}</b>`
  t.equal(html`<p>${inner}</p>`.value, '<p><b>&amp;</b></p>')
  t.equal(html`${html`${html`<i>${'<'}</i>`}`}`.value, '<i>&lt;</i>')
  t.ok(inner instanceof SafeHtml)
  t.equal(String(inner), '<b>&amp;</b>')
  t.equal(JSON.stringify({ inner }), '{"inner":"<b>&amp;</b>"}')
})

t.test('arrays flatten, null/undefined/false are skipped, numbers and true print', async t => {
  const items = ['a<', 'b']
  t.equal(html`<ul>${items.map(i => html`<li>${i}</li>`)}</ul>`.value, '<ul><li>a&lt;</li><li>b</li></ul>')
  t.equal(html`${null}${undefined}${false}${0}${true}${12.5}${10n}`.value, '0true12.510')
  t.equal(html`${[[['<']], [html`<br>`], null]}`.value, '&lt;<br>')
})

t.test('raw marks trusted markup', async t => {
  t.equal(html`${raw('<hr>')}`.value, '<hr>')
  const safe = html`<x>`
  // eslint-disable-next-line nex/no-unsafe-raw -- `safe` is html output: checks that raw() hands SafeHtml back unchanged
  t.equal(raw(safe), safe)
})

t.test('promises make the result a promise, in order', async t => {
  const later = async <T>(value: T, ms: number) => await new Promise<T>(resolve => setTimeout(() => resolve(value), ms))
  const result = html`<p>${'a'}${later('<b>', 5)}${[later(html`<i>`, 1), 'c']}${later(null, 0)}</p>`
  t.ok(result instanceof Promise)
  t.equal((await result).value, '<p>a&lt;b&gt;<i>c</p>')
  t.equal(await renderToString(later(html`<u>${'&'}</u>`, 1)), '<u>&amp;</u>')
  t.equal(await renderToString('<raw string is escaped>'), '&lt;raw string is escaped&gt;')
})

t.test('SafeHtml from another copy of the package is trusted (shared brand)', async t => {
  // eslint-disable-next-line nex/no-unsafe-raw -- forges the brand on purpose, to prove another copy's SafeHtml is trusted
  const foreign = { [Symbol.for('@nex/html.safe')]: true, value: '<em>x</em>', toString () { return this.value } }
  t.ok(isSafeHtml(foreign))
  t.equal(html`${foreign}`.value, '<em>x</em>')
  t.notOk(isSafeHtml({ value: '<em>' }))
  t.equal(html`${{ value: '<em>', toString: () => '<em>' }}`.value, '&lt;em&gt;', 'look-alikes are escaped')
})

t.test('join', async t => {
  t.equal(join(['<a>', html`<b>`], html`<br>`).value, '&lt;a&gt;<br><b>')
  t.throws(() => join([Promise.resolve('x') as never]), TypeError)
})

const DANGEROUS = /[<>"'&]/

t.test('property: no interpolated string can produce an unescaped < > " \' &', async t => {
  const text = fc.string({ unit: 'binary' })
  const hostile = fc.constantFrom('<script>alert(1)</script>', '" hx-get="/x', "' hx-post='/y", '"><img src=x onerror=alert(1)>', '&amp;', '&#60;', 'javascript:alert(1)', '{{x}}', '\u2028')
  const value = fc.oneof(text, hostile, fc.tuple(text, hostile).map(([a, b]) => a + b))
  fc.assert(fc.property(value, value, (a, b) => {
    // Element content and both attribute quoting styles: the interpolated parts must come out escaped.
    const out = html`<div class="${a}" title='${b}'>${a}<span>${[b, a]}</span></div>`.value
    const parts = out.split(/<div class="|" title='|'>|<span>|<\/span><\/div>/).filter(p => p !== '')
    return parts.every(part => !DANGEROUS.test(part.replace(/&(amp|lt|gt|quot|#39);/g, '')))
  }), { numRuns: 3000 })
  t.pass('3000 runs')
})

t.test('property: no injected tag or hx-* attribute survives', async t => {
  fc.assert(fc.property(fc.string(), fc.string(), (a, b) => {
    const payload = `${a}"><x hx-get="/evil" ${b}`
    const out = html`<button hx-post="?/save" data-x="${payload}">${payload}</button>`.value
    // Only the template's own tag delimiters and attribute quotes remain: nothing can open a tag or
    // close the attribute value, so no tag or hx-* attribute can be injected.
    return (out.match(/</g) ?? []).length === 2 && (out.match(/>/g) ?? []).length === 2 &&
      (out.match(/"/g) ?? []).length === 4 && !out.includes("'")
  }), { numRuns: 3000 })
  t.pass('3000 runs')
})

t.test('property: escaping round-trips through an HTML decoder', async t => {
  const decode = (s: string) => s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e] as string)
  fc.assert(fc.property(fc.string({ unit: 'grapheme' }), s => decode(escapeHtml(s)) === s))
  t.pass()
})

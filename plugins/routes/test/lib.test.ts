// Unit tests of the pure helpers in src/lib.
import t from 'tap'
import fc from 'fast-check'
import { parseRoutePath, stripRouteExtension } from '../src/lib/route-path.js'
import { DEFAULT_ACTION, parseActionName } from '../src/lib/action-name.js'
import { isSameOriginPath } from '../src/lib/redirect.js'
import { isHtmxRequest, wantsFullPage } from '../src/lib/request-kind.js'

t.test('stripRouteExtension', async t => {
  t.equal(stripRouteExtension('index.ts'), 'index')
  t.equal(stripRouteExtension('a.mts'), 'a')
  t.equal(stripRouteExtension('a.js'), 'a')
  t.equal(stripRouteExtension('a.mjs'), 'a')
  t.equal(stripRouteExtension('[id].ts'), '[id]')
  for (const ignored of ['a.d.ts', 'a.d.mts', 'a.test.ts', 'a.spec.js', 'a.css', 'a.json', 'a.tsx', 'README.md']) {
    t.equal(stripRouteExtension(ignored), null, ignored)
  }
})

t.test('parseRoutePath', async t => {
  const ok = (segments: string[]) => {
    const parsed = parseRoutePath(segments)
    if ('error' in parsed) throw new Error(parsed.error)
    return parsed
  }
  t.same(ok(['index']), { urls: ['/'], shapes: ['/'], params: [] })
  t.same(ok(['about']).urls, ['/about'])
  t.same(ok(['about', 'index']).urls, ['/about'])
  t.same(ok(['users', '[id]']), { urls: ['/users/:id'], shapes: ['/users/:'], params: [{ name: 'id', kind: 'single' }] })
  t.same(ok(['[org]', '[repo]', 'issues']).urls, ['/:org/:repo/issues'])
  t.same(ok(['docs', '[...slug]']), { urls: ['/docs/*'], shapes: ['/docs/*'], params: [{ name: 'slug', kind: 'rest' }] })
  t.same(ok(['shop', '[[...slug]]']).urls, ['/shop', '/shop/*'])
  t.same(ok(['[[...all]]']).urls, ['/', '/*'])
  t.same(ok(['(marketing)', 'pricing']).urls, ['/pricing'])
  t.same(ok(['(a)', '(b)', 'index']).urls, ['/'])
  t.same(ok(['v1.2', 'x_y~z-w']).urls, ['/v1.2/x_y~z-w'])
  for (const bad of [['a:b'], ['a*'], ['foo-[bar]'], ['[...a]', 'b'], ['[1a]'], ['[]'], ['[[id]]'], ['(g)'], ['[a]', '[a]'], ['a b'], ['%20']]) {
    t.ok('error' in parseRoutePath(bad), `${bad.join('/')} is refused`)
  }
})

t.test('parseActionName', async t => {
  t.equal(parseActionName('/'), DEFAULT_ACTION)
  t.equal(parseActionName('/page?x=1'), DEFAULT_ACTION)
  t.equal(parseActionName('/?/increment'), 'increment')
  t.equal(parseActionName('/users/1?/save&x=1'), 'save')
  t.equal(parseActionName('/?/a%62c'), 'abc')
  t.equal(parseActionName('/?/'), null)
  t.equal(parseActionName('/?/a b'), null)
  t.equal(parseActionName('/?/%E0%A4%A'), null)
  t.equal(parseActionName('/?/a/b'), null)
  t.equal(parseActionName('/?/kebab-case'), 'kebab-case')
})

t.test('isSameOriginPath', async t => {
  for (const ok of ['/', '/a', '/a/b?c=d#e', '/users/%20x']) t.ok(isSameOriginPath(ok), ok)
  for (const bad of ['', 'a', 'https://x', '//x', '/\\x', '\\\\x', 'javascript:alert(1)', '/%2F/x', '%2F%2Fx', '/%5Cx', '/a\nb', '/a\u0000', '/%0a', '/%E0%A4%A', ' /x']) {
    t.notOk(isSameOriginPath(bad), JSON.stringify(bad))
  }
})

t.test('isSameOriginPath: property — what passes is a path on this origin', async t => {
  const base = 'https://app.example'
  fc.assert(fc.property(fc.oneof(fc.string(), fc.webUrl(), fc.webPath(), fc.string().map(s => `/${s}`), fc.string().map(s => `//${s}`)), target => {
    if (!isSameOriginPath(target)) return true
    const resolved = new URL(target, base)
    return resolved.origin === base && (resolved.protocol === 'https:')
  }), { numRuns: 5000 })
})

t.test('request kind', async t => {
  t.ok(wantsFullPage({}))
  t.notOk(isHtmxRequest({}))
  t.ok(isHtmxRequest({ 'hx-request': 'true' }))
  t.notOk(wantsFullPage({ 'hx-request': 'true' }), 'htmx 2 request')
  t.notOk(wantsFullPage({ 'hx-request': 'true', 'hx-request-type': 'partial' }))
  t.notOk(wantsFullPage({ 'hx-request': 'true', 'hx-request-type': 'partial', 'hx-boosted': 'true' }), 'htmx 4 says partial')
  t.ok(wantsFullPage({ 'hx-request': 'true', 'hx-request-type': 'full' }))
  t.ok(wantsFullPage({ 'hx-request': 'true', 'hx-boosted': 'true' }), 'htmx 2 boosted')
  t.ok(wantsFullPage({ 'hx-request': 'true', 'hx-history-restore-request': 'true' }), 'htmx 2 history restore')
})

import { expect, test } from 'tstyche'
import { html, raw, join, type SafeHtml, type Renderable } from '@nex/html'

test('html returns SafeHtml for synchronous values', () => {
  expect(html`<p>${'x'}${1}${null}${[html`<b>`]}</p>`).type.toBe<SafeHtml>()
})

test('html returns a promise when a value may be one', () => {
  expect(html`<p>${Promise.resolve('x')}</p>`).type.toBe<Promise<SafeHtml>>()
  expect(html`<p>${[Promise.resolve(html`<b>`)]}</p>`).type.toBe<Promise<SafeHtml>>()
})

test('raw and join', () => {
  expect(raw('<hr>')).type.toBe<SafeHtml>()
  expect(join(['a', html`<b>`], ', ')).type.toBe<SafeHtml>()
  // eslint-disable-next-line nex/no-unsafe-raw -- a type assertion: raw is not called here
  expect(raw).type.not.toBeCallableWith(1)
})

test('Renderable is what render functions return', () => {
  expect<SafeHtml>().type.toBeAssignableTo<Renderable>()
  expect<Promise<string>>().type.toBeAssignableTo<Renderable>()
  expect<number>().type.not.toBeAssignableTo<Renderable>()
})

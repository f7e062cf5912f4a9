// The label functions, pure: closed sets for method, status class and error reason.
import t from 'tap'
import { ERROR_REASONS, METHODS, REASON_OF_CODE, STATUS_CLASSES, errorReasonIndex, methodIndex, statusClassIndex } from '../src/lib/labels.js'

const reason = (status: number, code: string | null = null): string | null => {
  const index = errorReasonIndex(status, code)
  return index === -1 ? null : ERROR_REASONS[index] as string
}

t.test('methods: seven known, everything else OTHER', async (t) => {
  for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) t.equal(METHODS[methodIndex(method)], method)
  for (const method of ['PROPFIND', 'CONNECT', 'TRACE', 'get', 'X'.repeat(1000), '']) t.equal(METHODS[methodIndex(method)], 'OTHER', JSON.stringify(method.slice(0, 10)))
})

t.test('status classes', async (t) => {
  const cases: Array<[number, string]> = [[100, '1xx'], [101, '1xx'], [200, '2xx'], [204, '2xx'], [299, '2xx'], [301, '3xx'], [304, '3xx'],
    [400, '4xx'], [404, '4xx'], [429, '4xx'], [499, '4xx'], [500, '5xx'], [503, '5xx'], [599, '5xx'], [0, '5xx'], [600, '5xx'], [999, '5xx']]
  for (const [status, label] of cases) t.equal(STATUS_CLASSES[statusClassIndex(status)], label, String(status))
})

t.test('error reasons: the code first, then the status', async (t) => {
  t.equal(reason(200), null, 'not an error')
  t.equal(reason(304), null)
  t.equal(reason(404), 'client_error')
  t.equal(reason(400, 'FST_ERR_VALIDATION'), 'client_error', 'a code without a reason of its own')
  t.equal(reason(429), 'rate_limited')
  t.equal(reason(500), 'server_error')
  t.equal(reason(503), 'server_error', 'a 503 without a known code')
  t.equal(reason(503, 'FST_ERR_HANDLER_TIMEOUT'), 'handler_timeout')
  t.equal(reason(200, 'FST_ERR_HANDLER_TIMEOUT'), 'handler_timeout', 'a response under way, cut by the timeout')
  t.equal(reason(503, 'FST_NEX_STATE_STORE_UNAVAILABLE'), 'store_unavailable')
  t.equal(reason(503, 'FST_NEX_PUBSUB_UNAVAILABLE'), 'store_unavailable')
  t.equal(reason(503, 'FST_UNDER_PRESSURE'), 'overloaded')
  t.equal(reason(503, 'FST_NEX_SSE_TOO_MANY_STREAMS'), 'overloaded')
  t.equal(reason(503, 'FST_NEX_WS_TOO_MANY_CONNECTIONS'), 'overloaded')
  t.equal(reason(503, 'FST_NEX_SSE_CLOSING'), 'shutting_down')
  t.equal(reason(503, 'FST_NEX_WS_SHUTTING_DOWN'), 'shutting_down')
  t.equal(reason(503, 'FST_NEX_STATE_STORE_CLOSED'), 'shutting_down')
  t.equal(reason(200, 'FST_NEX_STATE_STORE_UNAVAILABLE'), null, 'an outage the error handler answered with a 200 is not an error response')
  t.equal(reason(500, 'FST_NEX_STATE_STORE_UNAVAILABLE'), 'store_unavailable', 'whatever status the error handler chose')
})

t.test('every mapped code has a reason of the set; the set is closed', async (t) => {
  for (const [code, name] of REASON_OF_CODE) t.ok(ERROR_REASONS.includes(name), code)
  t.equal(ERROR_REASONS.length, 7)
  t.ok(Object.isFrozen(ERROR_REASONS) && Object.isFrozen(METHODS) && Object.isFrozen(STATUS_CLASSES))
})

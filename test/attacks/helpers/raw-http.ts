/**
 * Raw HTTP/1.1 over `node:net`: bytes go out exactly as written (so llhttp, not a client library, decides
 * what they mean) and every response that comes back is parsed, including a second one that should not
 * exist. Also the suite's timing rule (RELIABILITY §7): a limit checked every `interval` is asserted at
 * `timeout * 1.2 + interval`.
 */
import net from 'node:net'

/** Latest acceptable moment for something a `timeout`, checked every `interval`, should do. */
export const deadline = (timeout: number, interval: number): number => timeout * 1.2 + interval

export interface RawResponse {
  status: number
  /** Header names in lower case; repeated headers joined with ', '. */
  headers: Record<string, string>
  body: Buffer
}

/**
 * Every complete response in `data`, in order, 1xx included. `bodiless` says which responses have no body
 * whatever their headers say (answers to HEAD), by position among the final ones. A response without
 * framing runs to the end of `data` once `ended` (the connection closed).
 */
export function parseResponses (data: Buffer, ended: boolean, bodiless: (index: number) => boolean = () => false): RawResponse[] {
  const responses: RawResponse[] = []
  let at = 0
  let finals = 0
  for (;;) {
    const headEnd = data.indexOf('\r\n\r\n', at, 'latin1')
    if (headEnd === -1) break
    const [statusLine = '', ...lines] = data.subarray(at, headEnd).toString('latin1').split('\r\n')
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? Number.NaN)
    if (Number.isNaN(status)) break
    const headers: Record<string, string> = {}
    for (const line of lines) {
      const colon = line.indexOf(':')
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim()
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
    }
    const framed = readBody(data, headEnd + 4, headers, status < 200 || status === 204 || status === 304 || (status >= 200 && bodiless(finals)), ended)
    if (framed === null) break
    responses.push({ status, headers, body: framed.body })
    if (status >= 200) finals++
    at = framed.end
  }
  return responses
}

/** The body starting at `start` and where the response ends, or null while it is incomplete. */
function readBody (data: Buffer, start: number, headers: Record<string, string>, none: boolean, ended: boolean): { body: Buffer, end: number } | null {
  if (none) return { body: Buffer.alloc(0), end: start }
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const chunks: Buffer[] = []
    let at = start
    for (;;) {
      const lineEnd = data.indexOf('\r\n', at, 'latin1')
      if (lineEnd === -1) return null
      const size = Number.parseInt(data.subarray(at, lineEnd).toString('latin1'), 16)
      if (Number.isNaN(size)) return null
      if (size === 0) {
        const end = data.indexOf('\r\n\r\n', lineEnd, 'latin1') // no trailers: found at lineEnd itself
        return end === -1 ? null : { body: Buffer.concat(chunks), end: end + 4 }
      }
      if (data.length < lineEnd + 2 + size + 2) return null
      chunks.push(data.subarray(lineEnd + 2, lineEnd + 2 + size))
      at = lineEnd + 2 + size + 2
    }
  }
  if (headers['content-length'] !== undefined) {
    const end = start + Number(headers['content-length'])
    return data.length < end ? null : { body: data.subarray(start, end), end }
  }
  return ended ? { body: data.subarray(start), end: data.length } : null
}

export interface Exchange {
  /** Final responses (status >= 200), in order. */
  responses: RawResponse[]
  /** Interim 1xx responses (e.g. 100 Continue). */
  interim: RawResponse[]
  /** The connection closed (by either side) before the exchange ended. */
  closed: boolean
  /** ms from the first byte written to the close, or null. */
  closedAfter: number | null
  /** ms from the first byte written to the first complete final response, or null. */
  firstResponseAfter: number | null
  /** The client's local port: the server sees it as the remote port. */
  localPort: number
}

export interface ExchangeOptions {
  /** Stop waiting after this many ms (the socket is then destroyed). */
  timeout?: number
  /** Stop once this many final responses arrived, `linger` ms later (to catch an extra one). Default: wait for the close. */
  responses?: number
  linger?: number
  /** Responses with no body whatever their headers say (answers to HEAD), by position. */
  bodiless?: (index: number) => boolean
  /** Called once connected, to write the request instead of writing `bytes` at once. */
  write?: (socket: net.Socket) => void
}

/** Opens a connection, writes `bytes`, and collects what comes back until the connection closes. */
export async function exchange (port: number, bytes: string | Buffer, options: ExchangeOptions = {}): Promise<Exchange> {
  const { timeout = 2_000, responses: wanted, linger = 100, bodiless } = options
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => {}) // resets are one way these exchanges end
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  const localPort = socket.localPort ?? 0
  const chunks: Buffer[] = []
  const started = performance.now()
  let closedAfter: number | null = null
  let firstResponseAfter: number | null = null
  return await new Promise((resolve) => {
    let lingering: NodeJS.Timeout | undefined
    let done = false
    const finish = (): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      clearTimeout(lingering)
      socket.destroy()
      const data = Buffer.concat(chunks)
      const all = parseResponses(data, closedAfter !== null, bodiless)
      resolve({
        responses: all.filter((response) => response.status >= 200),
        interim: all.filter((response) => response.status < 200),
        closed: closedAfter !== null,
        closedAfter,
        firstResponseAfter,
        localPort
      })
    }
    const timer = setTimeout(finish, timeout)
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      const finals = parseResponses(Buffer.concat(chunks), false, bodiless).filter((response) => response.status >= 200).length
      if (finals > 0 && firstResponseAfter === null) firstResponseAfter = performance.now() - started
      if (wanted !== undefined && finals >= wanted && lingering === undefined) lingering = setTimeout(finish, linger)
    })
    socket.once('close', () => {
      if (done) return
      closedAfter = performance.now() - started
      finish()
    })
    if (options.write === undefined) socket.write(bytes)
    else options.write(socket)
  })
}

/** Polls `check` every `every` ms until it returns a value other than undefined, or `limit` ms pass. */
export async function until<T> (check: () => Promise<T | undefined>, limit: number, every = 100): Promise<T | undefined> {
  const end = performance.now() + limit
  for (;;) {
    const value = await check()
    if (value !== undefined || performance.now() >= end) return value
    await new Promise((resolve) => setTimeout(resolve, every))
  }
}

// `npm start` (node server.js) in development and production, over a real socket.
import t from 'tap'
import { fileURLToPath } from 'node:url'
import { startSuite } from '../../../test/helpers/start-suite.ts'

startSuite(t, { dir: fileURLToPath(new URL('..', import.meta.url)), marker: 'hx-sse:connect="/api/energy-stream"' })

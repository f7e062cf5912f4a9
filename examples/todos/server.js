// `npm start`: serves the app on HOST:PORT (default localhost:3000). SIGTERM/SIGINT shut it down
// gracefully: in production /readyz fails for DRAIN_DELAY ms (default 5000) so a load balancer stops
// sending, then open requests finish and streams close; development closes at once.
import { serve } from 'nex'
import { build } from './app.js'

const production = process.env.NODE_ENV === 'production'
const app = await build({ logger: { level: process.env.LOG_LEVEL ?? 'info' } })
await serve(app, {
  port: Number(process.env.PORT ?? 3000),
  host: process.env.HOST ?? 'localhost',
  drainDelay: Number(process.env.DRAIN_DELAY ?? (production ? 5000 : 0))
})

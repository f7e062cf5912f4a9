// `npm start`: serves the app on HOST:PORT (default localhost:3000) until SIGINT/SIGTERM.
import { build } from './app.js'

const app = await build({ logger: { level: process.env.LOG_LEVEL ?? 'info' } })
const port = Number(process.env.PORT ?? 3000)
const host = process.env.HOST ?? 'localhost'
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    app.close().then(() => process.exit(0), () => process.exit(1))
  })
}
await app.listen({ port, host })

// GET /api/energy-stream: an event stream following the `energy` topic. The app's one producer publishes
// a tick there every second; this handler only subscribes, and the stream stays open while the topic
// feeds it (until the client leaves or the server shuts down with `event: shutdown`).
import { stream, type SseStream } from '@nex/sse'
import type { Context } from '@nex/routes'
import { ENERGY_TOPIC } from '../lib/energy.ts'

export const GET = stream(async (_ctx: Context, events: SseStream) => {
  await events.subscribe(ENERGY_TOPIC)
})

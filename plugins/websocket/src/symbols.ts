/** Internal members of `SocketConnection` (the class behind `NexSocket`), kept off its public surface. */

/** Logs a failed callback and closes the socket with 1011. */
export const kFail = Symbol('@nex/websocket.fail')
/** Resolves once the socket closed and released its subscriptions. */
export const kReleased = Symbol('@nex/websocket.released')

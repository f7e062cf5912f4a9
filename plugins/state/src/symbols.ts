/** Private per-request data, kept off the public request surface. */

/** The verified page id the request carried (header or form field), or null. */
export const kCarriedPageId = Symbol('@nex/state.carriedPageId')
/** The handle of the request's current page, created on first use. */
export const kPageHandle = Symbol('@nex/state.pageHandle')
/** Set once a write through the carried page's handle succeeded: that write already slid the TTL. */
export const kCarriedPageWritten = Symbol('@nex/state.carriedPageWritten')
/** The id of a page this request started and wrote (so it has state to count against its session), or null. */
export const kNewPageWritten = Symbol('@nex/state.newPageWritten')

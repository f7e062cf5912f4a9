/** Reading Nex markup in tests: the page id a full page carries and the hidden fields that repeat it. */

const PAGE_ID = /\bdata-nex-page-id="([^"]+)"/
const PAGE_FIELD = /<input type="hidden" name="_nex_page" value="([^"]+)">/g

/** The page id a full page carries (on the element wrapping the page content). */
export function pageIdOf (body: string): string {
  const match = PAGE_ID.exec(body)
  if (match === null) throw new Error(`no page id in: ${body.slice(0, 300)}`)
  return match[1] as string
}

/** Every value of the hidden page-id field in the markup, in order. */
export function pageFieldsOf (body: string): string[] {
  return [...body.matchAll(PAGE_FIELD)].map(match => match[1] as string)
}

/** A page id with the right shape whose signature the server never made. */
export function forgePageId (pageId: string): string {
  return pageId.slice(0, -2) + (pageId.endsWith('AA') ? 'BB' : 'AA')
}

/**
 * HTML escaping for text and attribute values: `&`, `<`, `>`, `"` and `'` become entities, which is
 * enough for element content and for quoted attribute values (single or double quotes).
 */
const SPECIAL = /["&'<>]/

export function escapeHtml (text: string): string {
  // Most values hold no special character: one regex test is cheaper than building a new string.
  const first = text.search(SPECIAL)
  if (first === -1) return text
  let out = ''
  let last = 0
  for (let i = first; i < text.length; i++) {
    let entity: string
    switch (text.charCodeAt(i)) {
      case 34: entity = '&quot;'; break
      case 38: entity = '&amp;'; break
      case 39: entity = '&#39;'; break
      case 60: entity = '&lt;'; break
      case 62: entity = '&gt;'; break
      default: continue
    }
    if (last !== i) out += text.slice(last, i)
    out += entity
    last = i + 1
  }
  return last === 0 ? out : out + text.slice(last)
}

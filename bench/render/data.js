// The data of the render benchmark's page: 100 users with user-provided strings (names, emails, notes,
// tags) of which about a third need escaping (quotes, ampersands, angle brackets). Deterministic, so
// every process renders the same page.

/** A small seeded PRNG (mulberry32), so the data is the same in every process. */
function prng (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const FIRST = ['Ada', 'Grace', 'Linus', 'Zoë', 'Renée', 'Bjarne', 'Margaret', 'Ken', 'Dennis', 'Barbara', 'Edsger', 'Frances']
const LAST = ['Lovelace', 'Hopper', "O'Brien", 'Torvalds', 'Smith & Sons', 'Hamilton', '<b>Bold</b>', 'Thompson', 'Ritchie', 'Liskov', 'Dijkstra', 'Allen']
const ROLES = ['admin', 'editor', 'viewer', 'owner']
const TAGS = ['ops', 'R&D', 'sales', '"vip"', 'beta', 'support', '<new>', 'eu']
const NOTES = [
  'Prefers email.',
  'Asked about the "pro" plan & discounts.',
  'Wrote: <script>alert(1)</script>',
  'Call back on Tuesday',
  "Won't renew unless 2 > 1",
  'Moved from the legacy system (id 4411).',
  '',
  'Key account; handle with care.'
]

export function makeData (count = 100) {
  const random = prng(20251122)
  const pick = (list) => list[Math.floor(random() * list.length)]
  const users = []
  for (let i = 1; i <= count; i++) {
    const first = pick(FIRST)
    const last = pick(LAST)
    const tags = []
    const tagCount = Math.floor(random() * 4)
    for (let t = 0; t < tagCount; t++) tags.push(pick(TAGS))
    users.push({
      id: 1000 + i,
      name: `${first} ${last}`,
      email: `${first.toLowerCase()}.${i}@example.com`,
      role: pick(ROLES),
      active: random() < 0.7,
      tags,
      note: pick(NOTES),
      visits: Math.floor(random() * 5000)
    })
  }
  return {
    title: 'Users & permissions',
    query: 'name:"o\'brien" & role<admin>',
    currentUser: { name: 'Renée <root>', avatar: '/avatars/1.png' },
    nav: [
      { href: '/', label: 'Home' },
      { href: '/users', label: 'Users', current: true },
      { href: '/teams', label: 'Teams' },
      { href: '/billing', label: 'Billing & invoices' },
      { href: '/settings', label: 'Settings' }
    ],
    users,
    page: 3,
    pages: 12
  }
}

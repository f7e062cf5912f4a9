// Rendering a ~24 KB page (layout, navigation, a table of 100 users with strings that need escaping,
// nested templates and arrays) with @nex/html vs ghtml. In-process CPU benchmark: each library runs in
// its own child process pinned to the same core, alternating timed rounds after a warm-up.
// Last line: ratio=<nex ops/s / ghtml ops/s> (higher is better for us).
import { fileURLToPath } from 'node:url'
import {
  alternate, compare, cpuRound, disturbance, environmentLine, fmt, overLaunches, pct, runBenchmark, settings, startCpuChild, stopAll, table
} from './lib/harness.js'

const PAGES = {
  ghtml: fileURLToPath(new URL('./render/page-ghtml.js', import.meta.url)),
  nex: fileURLToPath(new URL('./render/page-nex.js', import.meta.url))
}
// The libraries spell entities differently (&quot; vs &#34;, &lt; vs &#60;) and ghtml also escapes `=`;
// decoded, both pages must be the same text.
const ENTITIES = { '&quot;': '"', '&#34;': '"', '&amp;': '&', '&#38;': '&', '&#39;': "'", '&lt;': '<', '&#60;': '<', '&gt;': '>', '&#62;': '>', '&#61;': '=' }
const decode = (markup) => markup.replace(/&(?:quot|#34|amp|#38|#39|lt|#60|gt|#62|#61);/g, (entity) => ENTITIES[entity])

/** Starts both children, checks they render the same page (first launch: prints what it checked). */
async function startPair (launch) {
  const ghtml = await startCpuChild('ghtml', PAGES.ghtml)
  const nex = await startCpuChild('nex-html', PAGES.nex).catch(async (error) => {
    await stopAll([ghtml])
    throw error
  })
  const a = await ghtml.request('sample')
  const b = await nex.request('sample')
  if (decode(a) !== decode(b)) {
    await stopAll([nex, ghtml])
    throw new Error('the two pages differ (after decoding entities)')
  }
  if (launch === 0) {
    const escapes = (b.match(/&(?:quot|amp|#39|lt|gt);/g) ?? []).length
    console.log(`check: same page after decoding entities; nex ${Buffer.byteLength(b)} bytes, ghtml ${Buffer.byteLength(a)} bytes ` +
      `(ghtml writes numeric entities and escapes "="); ${(b.match(/<tr /g) ?? []).length} rows, ${escapes} escaped characters`)
  }
  return { ghtml, nex }
}

async function main () {
  console.log('# render-html: a ~24 KB page with @nex/html vs ghtml (CPU, in process)')
  console.log(environmentLine())
  console.log(`${settings.launches} launches of fresh processes; each: warm-up ${settings.cpuWarmupMs} ms per side, then ` +
    `${settings.cpuRounds} rounds of ${settings.cpuRoundMs} ms per side, alternating (ABBA)`)
  const { samples, perLaunch } = await overLaunches(async (launch) => {
    const { ghtml, nex } = await startPair(launch)
    try {
      const sides = [
        { name: 'ghtml', run: (phase) => cpuRound(ghtml, phase === 'warmup' ? settings.cpuWarmupMs : settings.cpuRoundMs) },
        { name: 'nex', run: (phase) => cpuRound(nex, phase === 'warmup' ? settings.cpuWarmupMs : settings.cpuRoundMs) }
      ]
      return await alternate(sides, { rounds: settings.cpuRounds })
    } finally {
      await stopAll([nex, ghtml])
    }
  })

  const ops = compare(samples, 'opsPerSec', 'nex', 'ghtml')
  const rows = [['launch', 'round', 'side', 'ops/s', 'µs/op', 'other load', 'nex/ghtml']]
  samples.nex.forEach((_, i) => {
    for (const name of ['ghtml', 'nex']) {
      const s = samples[name][i]
      rows.push([String(s.launch), String(i % settings.cpuRounds + 1), name, fmt(s.opsPerSec), fmt(1e6 / s.opsPerSec, 1),
        s.foreign === null ? 'n/a' : pct(s.foreign), name === 'nex' ? ops.perRound[i].toFixed(3) : ''])
    }
  })
  console.log(table(rows))
  console.log(table([
    ['all rounds', 'median ops/s', 'min–max ops/s', 'µs/op'],
    ['ghtml', fmt(ops.reference.median), `${fmt(ops.reference.min)}–${fmt(ops.reference.max)}`, fmt(1e6 / ops.reference.median, 1)],
    ['@nex/html', fmt(ops.ours.median), `${fmt(ops.ours.min)}–${fmt(ops.ours.max)}`, fmt(1e6 / ops.ours.median, 1)]
  ]))
  const { retried, disturbed } = disturbance()
  if (retried > 0 || disturbed > 0) console.log(`other processes disturbed the machine: ${retried} round(s) measured again, ${disturbed} kept above the limit`)
  const launches = perLaunch.map(own => compare(own, 'opsPerSec', 'nex', 'ghtml').ratio)
  console.log(`per-launch ratios (median of its rounds): ${launches.map(r => r.toFixed(3)).join(', ')}`)
  console.log(`ghtml=${ops.reference.median.toFixed(0)} ops/s  nex=${ops.ours.median.toFixed(0)} ops/s  ` +
    `ratio of medians=${ops.ratioOfMedians.toFixed(3)}  median of per-round ratios=${ops.ratio.toFixed(3)}`)
  return {
    reference: ops.reference.median,
    ours: ops.ours.median,
    ratio: ops.ratio,
    ratioOfMedians: ops.ratioOfMedians,
    launchRatios: launches,
    unit: 'ops/s',
    spread: { reference: [ops.reference.min, ops.reference.max], ours: [ops.ours.min, ops.ours.max] },
    retried,
    disturbed
  }
}

runBenchmark(main)

/**
 * npm run docs:plots
 *
 * Draws the figures of docs/measurements.md as SVG files in docs/img/, from
 * the measured values below (copied from the bench runs that
 * docs/measurements.md lists, with their dates). Plain SVG text, no
 * dependency: edit a value here, run this, commit both.
 * test/unit/docs.test.ts fails when a checked-in SVG differs from what this
 * draws.
 *
 * A value is a number, or [low, high] for the spread over several runs
 * (drawn as a bar from low to high).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export type Value = number | readonly [number, number]

export const IMG_DIR = join(import.meta.dirname, '../docs/img')

const COLOR = {
  lightpool: '#1f6feb',
  push: '#c0392b',
  lazy: '#d68910',
  tree: '#1e8449',
  target: '#7f8c8d',
  grid: '#e5e8eb',
  axis: '#4d5656',
  text: '#1c2833'
} as const

// ---- the figures (see docs/measurements.md for each run's command) ----

/** Time to all 20 nodes, p99, ms, by rate (tx/s); `sustains`: highest rate with 99 % of txs at every node within 2 s. Recorded 2026-11-24. */
export const TIME_TO_ALL = {
  loopback: {
    lightpool: { points: [[10, [65, 68]], [30, 137]] as Array<[number, Value]>, sustains: 68 },
    push: { points: [[10, [74, 82]], [30, 136]] as Array<[number, Value]>, sustains: 63 },
    lazy: { points: [[10, 71], [30, 87]] as Array<[number, Value]> }
  },
  wan: {
    lightpool: { points: [[5, 572], [10, [655, 739]]] as Array<[number, Value]>, sustains: 34 },
    push: { points: [[5, 363], [10, [5926, 7795]]] as Array<[number, Value]>, sustains: 8 }
  }
}

/** Relay CPU (cores) by feed subscribers at 100 tx/s, 4 publishing full nodes, 40 KB txs. Recorded 2026-12-02. */
export const RELAY_CPU = {
  /** the same publishing, nobody to feed (three runs) */
  baseline: [0.32, 0.43] as Value,
  /** 200 real light nodes on the feed (one run) */
  feed200: 0.32 as Value,
  /** 1 000 raw feed subscribers (three runs) */
  raw1000: [0.36, 0.47] as Value,
  /** 200 light nodes on gossipsub instead (one run; they got 44 % of the pairs) */
  gossip200: 0.32 as Value,
  /** the extrapolation the bench prints: light nodes one core serves at 100 tx/s, from the run whose baseline was 0.32 */
  perCore: 5700,
  fixed: 0.32
}

/** CPU per light node, ms per second, by rate (tx/s): 40 light nodes in one process, one publisher. Recorded 2026-12-03. */
export const LIGHT_NODE_CPU: Array<[number, Value]> = [[1, 2.1], [10, 4.4], [50, 7.5], [100, 8.1]]
/** The same at 100 tx/s in the six 200-light-node runs (25–50 per process). Recorded 2026-12-03. */
export const LIGHT_NODE_CPU_200: Value = [4.8, 5.4]

/** Bytes received per full node ÷ unique tx bytes, 20 nodes at 10 tx/s. Recorded 2026-11-24. */
export const AMPLIFICATION = {
  loopback: { lightpool: 1.01 as Value, push: 1.70 as Value },
  wan: { lightpool: 1.02 as Value, push: [3.4, 3.8] as Value },
  target: 1.15
}

/** Sustained rate (tx/s): 99 % of txs at all 20 nodes within 2 s. Recorded 2026-11-24. */
export const CAPACITY: Array<{ setting: string, lightpool: Value, push: Value, tree?: Value }> = [
  { setting: 'WAN 10 Mbit/s, 25 ms', lightpool: 19, push: [4, 5], tree: 10 },
  { setting: 'WAN 20 Mbit/s, 25 ms', lightpool: 34, push: 8 },
  { setting: 'WAN 20 Mbit/s, 50 ms', lightpool: 30, push: 8 },
  { setting: 'bare loopback (CPU)', lightpool: 68, push: 63, tree: 122 }
]

// ---- drawing ----

const lo = (v: Value): number => typeof v === 'number' ? v : v[0]
const hi = (v: Value): number => typeof v === 'number' ? v : v[1]

function num (n: number): string {
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 100) / 100)
}

function label (v: Value, unit = ''): string {
  return typeof v === 'number' ? `${num(v)}${unit}` : `${num(v[0])}–${num(v[1])}${unit}`
}

function esc (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function text (x: number, y: number, s: string, opts: { size?: number, anchor?: 'start' | 'middle' | 'end', color?: string, weight?: string, rotate?: boolean } = {}): string {
  const rotate = opts.rotate === true ? ` transform="rotate(-90 ${num(x)} ${num(y)})"` : ''
  const weight = opts.weight === undefined ? '' : ` font-weight="${opts.weight}"`
  return `<text x="${num(x)}" y="${num(y)}" font-size="${opts.size ?? 12}" text-anchor="${opts.anchor ?? 'start'}" fill="${opts.color ?? COLOR.text}"${weight}${rotate}>${esc(s)}</text>`
}

function line (x1: number, y1: number, x2: number, y2: number, color: string, width = 1, dash?: string): string {
  return `<line x1="${num(x1)}" y1="${num(y1)}" x2="${num(x2)}" y2="${num(y2)}" stroke="${color}" stroke-width="${width}"${dash === undefined ? '' : ` stroke-dasharray="${dash}"`}/>`
}

function svg (width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" role="img" aria-label="${esc(title)}">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    ''
  ].join('\n')
}

interface Scale { (v: number): number, ticks: number[] }

function linear (d0: number, d1: number, r0: number, r1: number, ticks: number[]): Scale {
  const f = ((v: number) => r0 + (v - d0) / (d1 - d0) * (r1 - r0)) as Scale
  f.ticks = ticks
  return f
}

function log10 (d0: number, d1: number, r0: number, r1: number, ticks: number[]): Scale {
  const f = ((v: number) => r0 + (Math.log10(v) - Math.log10(d0)) / (Math.log10(d1) - Math.log10(d0)) * (r1 - r0)) as Scale
  f.ticks = ticks
  return f
}

interface Frame { x: Scale, y: Scale, left: number, right: number, top: number, bottom: number }

function axes (f: Frame, xTitle: string, yTitle: string, xFormat = num, yFormat = num): string[] {
  const out: string[] = []
  for (const t of f.y.ticks) {
    out.push(line(f.left, f.y(t), f.right, f.y(t), COLOR.grid))
    out.push(text(f.left - 6, f.y(t) + 4, yFormat(t), { size: 11, anchor: 'end', color: COLOR.axis }))
  }
  for (const t of f.x.ticks) {
    out.push(line(f.x(t), f.bottom, f.x(t), f.bottom + 4, COLOR.axis))
    out.push(text(f.x(t), f.bottom + 17, xFormat(t), { size: 11, anchor: 'middle', color: COLOR.axis }))
  }
  out.push(line(f.left, f.bottom, f.right, f.bottom, COLOR.axis))
  out.push(line(f.left, f.top, f.left, f.bottom, COLOR.axis))
  out.push(text((f.left + f.right) / 2, f.bottom + 34, xTitle, { size: 12, anchor: 'middle' }))
  out.push(text(f.left - 44, (f.top + f.bottom) / 2, yTitle, { size: 12, anchor: 'middle', rotate: true }))
  return out
}

/** Points joined by a line, each a dot, or a bar from low to high for a spread. */
function series (f: Frame, points: Array<[number, Value]>, color: string, dash?: string): string[] {
  const out: string[] = []
  const mids = points.map(([x, v]) => [f.x(x), f.y((lo(v) + hi(v)) / 2)] as const)
  if (mids.length > 1) out.push(`<polyline points="${mids.map(([x, y]) => `${num(x)},${num(y)}`).join(' ')}" fill="none" stroke="${color}" stroke-width="2"${dash === undefined ? '' : ` stroke-dasharray="${dash}"`}/>`)
  for (const [x, v] of points) {
    if (typeof v !== 'number') {
      out.push(line(f.x(x), f.y(v[0]), f.x(x), f.y(v[1]), color, 6))
    } else {
      out.push(`<circle cx="${num(f.x(x))}" cy="${num(f.y(v))}" r="4" fill="${color}"/>`)
    }
  }
  return out
}

function legend (x: number, y: number, items: Array<{ name: string, color: string, dash?: string }>): string[] {
  return items.flatMap((item, i) => [
    line(x, y + i * 18, x + 22, y + i * 18, item.color, 3, item.dash),
    text(x + 28, y + i * 18 + 4, item.name, { size: 12 })
  ])
}

function timeToAll (): string {
  const width = 900
  const height = 400
  const panel = (left: number, right: number, title: string, data: Record<string, { points: Array<[number, Value]>, sustains?: number }>, xMax: number, xTicks: number[], y: Scale): string[] => {
    const f: Frame = { x: linear(0, xMax, left, right, xTicks), y, left, right, top: 60, bottom: 330 }
    const out = [text((left + right) / 2, 48, title, { size: 13, anchor: 'middle', weight: '600' }), ...axes(f, 'publish rate (tx/s)', 'time to all 20 nodes, p99 (ms)')]
    const colors: Record<string, string> = { lightpool: COLOR.lightpool, push: COLOR.push, lazy: COLOR.lazy }
    for (const [name, s] of Object.entries(data)) {
      out.push(...series(f, s.points, colors[name]!, name === 'lazy' ? '5 3' : undefined))
      if (s.sustains !== undefined && s.sustains <= xMax) {
        out.push(line(f.x(s.sustains), f.top, f.x(s.sustains), f.bottom, colors[name]!, 1.5, '2 3'))
        out.push(text(f.x(s.sustains) + (name === 'push' ? -4 : 4), f.top + 12 + (name === 'push' ? 14 : 0), `sustains ${s.sustains}`, { size: 11, anchor: name === 'push' ? 'end' : 'start', color: colors[name]! }))
      }
    }
    return out
  }
  const body = [
    text(20, 24, 'Time to all nodes against publish rate (20 nodes, 40 KB txs)', { size: 15, weight: '600' }),
    ...panel(90, 410, 'over an emulated WAN: 25 ms one way, 20 Mbit/s per node', TIME_TO_ALL.wan, 40, [0, 10, 20, 30, 40], log10(100, 10_000, 330, 60, [100, 200, 500, 1000, 2000, 5000, 10_000])),
    ...panel(540, 860, 'on bare loopback: 20 nodes share one CPU thread', TIME_TO_ALL.loopback, 80, [0, 20, 40, 60, 80], log10(10, 1000, 330, 60, [10, 20, 50, 100, 200, 500, 1000])),
    ...legend(100, 386, [{ name: 'lightpool (announce, then fetch)', color: COLOR.lightpool }, { name: 'gossipsub push (baseline)', color: COLOR.push }]),
    ...legend(420, 386, [{ name: 'gossipsub push on lightpool\'s muxer', color: COLOR.lazy, dash: '5 3' }]),
    text(100, 432, 'Bars: the spread over two runs. Dotted: the highest rate with 99 % of txs at all nodes within 2 s.', { size: 10, color: COLOR.axis }),
    text(100, 446, 'Push at 10 tx/s over the WAN: 7–9 % of txs never reached every node. Recorded 2026-11-24.', { size: 10, color: COLOR.axis })
  ]
  return svg(width, height + 60, 'Time to all nodes against publish rate', body)
}

function relayCpu (): string {
  const f: Frame = { x: linear(0, 6000, 80, 600, [0, 1000, 2000, 3000, 4000, 5000, 6000]), y: linear(0, 1.1, 320, 60, [0, 0.2, 0.4, 0.6, 0.8, 1.0]), left: 80, right: 600, top: 60, bottom: 320 }
  const r = RELAY_CPU
  const slope = (1 - r.fixed) / r.perCore
  const body = [
    text(20, 24, 'Relay CPU against light nodes served (100 tx/s of 40 KB txs)', { size: 15, weight: '600' }),
    text(20, 44, 'everything included: fetching, validating and storing every tx, and the feed', { size: 12, color: COLOR.axis }),
    ...axes(f, 'feed subscribers (light nodes, tabs)', 'relay CPU (cores)', n => n.toLocaleString('en-US').replace(/,/g, ' '), n => n.toFixed(1)),
    line(f.x(0), f.y(1), f.right, f.y(1), COLOR.target, 1.5, '6 4'),
    text(f.right - 4, f.y(1) - 6, 'one core', { size: 11, anchor: 'end', color: COLOR.target }),
    line(f.x(0), f.y(r.fixed), f.x(r.perCore), f.y(r.fixed + slope * r.perCore), COLOR.lightpool, 1.5, '5 4'),
    text(f.x(1500), f.y(0.9), `dashed: extrapolated: ~${r.perCore.toLocaleString('en-US').replace(/,/g, ' ')} light nodes per core`, { size: 11, color: COLOR.lightpool }),
    ...series(f, [[0, r.baseline]], COLOR.axis),
    text(f.x(0) + 10, f.y(hi(r.baseline)) - 10, `nobody to feed: ${label(r.baseline)}`, { size: 11, color: COLOR.axis }),
    ...series(f, [[200, r.feed200]], COLOR.lightpool),
    text(f.x(200) + 8, f.y(lo(r.feed200)) + 16, `200 light nodes: ${label(r.feed200)}`, { size: 11, color: COLOR.lightpool }),
    ...series(f, [[1000, r.raw1000]], COLOR.lightpool),
    text(f.x(1000) + 10, f.y(lo(r.raw1000)) + 8, `1 000 raw subscribers: ${label(r.raw1000)}`, { size: 11, color: COLOR.lightpool }),
    text(20, 378, 'Dots: one run; bars: three runs. Four publishing full nodes in other processes, one 2-core machine.', { size: 10, color: COLOR.axis }),
    text(20, 392, `Gossipsub instead of the feed, 200 light nodes: ${label(r.gossip200)} core, but only 44 % of (tab, tx) pairs listed. Recorded 2026-12-02.`, { size: 10, color: COLOR.axis })
  ]
  return svg(640, 404, 'Relay CPU against light nodes served', body)
}

function lightNodeCpu (): string {
  const f: Frame = { x: linear(0, 100, 80, 600, [0, 20, 40, 60, 80, 100]), y: linear(0, 10, 300, 60, [0, 2, 4, 6, 8, 10]), left: 80, right: 600, top: 60, bottom: 300 }
  const body = [
    text(20, 24, 'What one light node costs against the rate', { size: 15, weight: '600' }),
    text(20, 44, 'CPU per light node (a Node.js process standing for a tab), 40 light nodes in one process', { size: 12, color: COLOR.axis }),
    ...axes(f, 'publish rate (tx/s)', 'CPU (ms per second)'),
    ...series(f, LIGHT_NODE_CPU, COLOR.lightpool),
    ...LIGHT_NODE_CPU.map(([x, v]) => text(f.x(x), f.y(hi(v)) - 10, label(v), { size: 11, anchor: x === 100 ? 'end' : 'middle', color: COLOR.lightpool })),
    ...series(f, [[100, LIGHT_NODE_CPU_200]], COLOR.lazy),
    text(f.x(100) - 10, f.y(lo(LIGHT_NODE_CPU_200)) + 14, `200 light nodes, 25–50 per process: ${label(LIGHT_NODE_CPU_200)}`, { size: 11, anchor: 'end', color: COLOR.lazy }),
    text(20, 358, '10 ms per second is 1 % of a core. Recorded 2026-12-03.', { size: 10, color: COLOR.axis })
  ]
  return svg(640, 372, 'CPU per light node against the rate', body)
}

function bars (title: string, subtitle: string, groups: Array<{ name: string, bars: Array<{ name: string, color: string, value: Value }> }>, y: Scale, yTitle: string, opts: { target?: { value: number, name: string }, unit?: string, note: string, width?: number }): string {
  const width = opts.width ?? 640
  const f: Frame = { x: linear(0, 1, 80, width - 40, []), y, left: 80, right: width - 40, top: 70, bottom: 300 }
  const out = [text(20, 24, title, { size: 15, weight: '600' }), text(20, 44, subtitle, { size: 12, color: COLOR.axis }), ...axes(f, '', yTitle)]
  const groupWidth = (f.right - f.left) / groups.length
  groups.forEach((g, gi) => {
    const barWidth = Math.min(44, (groupWidth - 30) / g.bars.length)
    const start = f.left + gi * groupWidth + (groupWidth - barWidth * g.bars.length) / 2
    g.bars.forEach((b, bi) => {
      const x = start + bi * barWidth
      out.push(`<rect x="${num(x + 2)}" y="${num(f.y(lo(b.value)))}" width="${num(barWidth - 4)}" height="${num(f.bottom - f.y(lo(b.value)))}" fill="${b.color}"/>`)
      if (typeof b.value !== 'number') out.push(`<rect x="${num(x + 2)}" y="${num(f.y(hi(b.value)))}" width="${num(barWidth - 4)}" height="${num(f.y(lo(b.value)) - f.y(hi(b.value)))}" fill="${b.color}" fill-opacity="0.45"/>`)
      out.push(text(x + barWidth / 2, f.y(hi(b.value)) - 5, label(b.value, opts.unit), { size: 11, anchor: 'middle', color: b.color }))
    })
    out.push(text(f.left + (gi + 0.5) * groupWidth, f.bottom + 18, g.name, { size: 11, anchor: 'middle' }))
  })
  if (opts.target !== undefined) {
    out.push(line(f.left, f.y(opts.target.value), f.right, f.y(opts.target.value), COLOR.target, 1.5, '6 4'))
    out.push(text(f.right - 4, f.y(opts.target.value) - 6, opts.target.name, { size: 11, anchor: 'end', color: COLOR.target }))
  }
  const names = new Map<string, string>()
  for (const g of groups) for (const b of g.bars) names.set(b.name, b.color)
  out.push(...legend(90, 334, [...names].map(([name, color]) => ({ name, color }))))
  out.push(text(20, 334 + names.size * 18 + 10, opts.note, { size: 10, color: COLOR.axis }))
  return svg(width, 334 + names.size * 18 + 24, title, out)
}

function amplification (): string {
  const a = AMPLIFICATION
  return bars('Bytes each full node receives ÷ the unique tx bytes it needs', '20 nodes, 40 KB txs at 10 tx/s; 1× is the floor: every body crosses each link once', [
    { name: 'bare loopback (payload bytes)', bars: [{ name: 'lightpool', color: COLOR.lightpool, value: a.loopback.lightpool }, { name: 'gossipsub push (baseline)', color: COLOR.push, value: a.loopback.push }] },
    { name: 'emulated WAN, 25 ms (all bytes on the wire)', bars: [{ name: 'lightpool', color: COLOR.lightpool, value: a.wan.lightpool }, { name: 'gossipsub push (baseline)', color: COLOR.push, value: a.wan.push }] }
  ], linear(0, 4, 300, 70, [0, 1, 2, 3, 4]), 'received ÷ needed', { target: { value: a.target, name: `target ≤ ${a.target}×` }, unit: '×', note: 'Light lower bar: the lowest of the runs; the light top: the spread. Recorded 2026-11-24.' })
}

function capacity (): string {
  return bars('Sustained publish rate: 99 % of txs at all 20 nodes within 2 s', '40 KB txs; the emulated WAN limits bandwidth, bare loopback limits CPU (one shared thread)', CAPACITY.map(c => ({
    name: c.setting,
    bars: [
      { name: 'lightpool', color: COLOR.lightpool, value: c.lightpool },
      { name: 'gossipsub push (baseline)', color: COLOR.push, value: c.push },
      ...(c.tree === undefined ? [] : [{ name: 'ideal tree (each body once into each node; not deployable)', color: COLOR.tree, value: c.tree }])
    ]
  })), linear(0, 130, 300, 70, [0, 20, 40, 60, 80, 100, 120]), 'tx/s', { note: 'Target: ≥ 3× the baseline (met over the WAN: 3.75–4.75×). Recorded 2026-11-24.', width: 760 })
}

/** Every figure, by file name in docs/img/. */
export function plots (): Record<string, string> {
  return {
    'time-to-all.svg': timeToAll(),
    'relay-cpu.svg': relayCpu(),
    'light-node-cpu.svg': lightNodeCpu(),
    'amplification.svg': amplification(),
    'capacity.svg': capacity()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  mkdirSync(IMG_DIR, { recursive: true })
  for (const [name, content] of Object.entries(plots())) {
    writeFileSync(join(IMG_DIR, name), content)
    process.stdout.write(`docs/img/${name}\n`)
  }
}

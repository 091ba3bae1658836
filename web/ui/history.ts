import type { TxPool } from '../../src/index.ts'
import { DEFAULT_HISTORY_CONFIG, type HistoryConfig, type HistorySample, type HistoryStore, type Series } from '../store/history-store.ts'
import { h, setAttr, setText, svg } from './dom.ts'
import { formatBytes, formatCount, formatRate } from './format.ts'

/**
 * The pool over time: a sampler that writes the pending count, bytes and
 * arrival rate to the history store once a step (10 s for the last hour,
 * 5 min for the last 24 h), and a chart of either series. The chart is
 * redrawn only when a sample lands or the series is switched: never per tx.
 */
export class HistoryRecorder {
  private readonly pool: TxPool
  private readonly store: HistoryStore
  private readonly config: Readonly<HistoryConfig>
  private readonly onSample: (series: Series, s: HistorySample) => void
  private readonly unsubscribe: () => void
  private timer: ReturnType<typeof setTimeout> | undefined
  private fineAdded = 0
  private coarseAdded = 0
  private fineSince: number
  private coarseSince: number

  constructor (pool: TxPool, store: HistoryStore, onSample: (series: Series, s: HistorySample) => void, config: Partial<HistoryConfig> = {}) {
    this.pool = pool
    this.store = store
    this.config = { ...DEFAULT_HISTORY_CONFIG, ...config }
    this.onSample = onSample
    this.fineSince = Date.now()
    this.coarseSince = this.fineSince
    this.unsubscribe = pool.events.on('added', () => { this.fineAdded++; this.coarseAdded++ })
    this.arm()
  }

  stop (): void {
    this.unsubscribe()
    if (this.timer !== undefined) clearTimeout(this.timer)
  }

  /** Wakes at the end of each fine step (aligned to the clock, so tabs agree on keys). */
  private arm (): void {
    const step = this.config.fineStepMs
    this.timer = setTimeout(() => { this.tick() }, step - (Date.now() % step) + 5)
  }

  private tick (): void {
    const now = Date.now()
    const { fineStepMs, coarseStepMs } = this.config
    const sample = (since: number, added: number, step: number): HistorySample => ({
      t: Math.floor((now - 1) / step) * step,
      count: this.pool.size,
      bytes: this.pool.bytes,
      rate: added / Math.max(1, (now - since) / 1000)
    })
    const fine = sample(this.fineSince, this.fineAdded, fineStepMs)
    this.fineAdded = 0
    this.fineSince = now
    this.write('fine', fine, this.config.fineKeepMs)
    // the end of a coarse step: its sample covers the whole step
    if (Math.floor(now / coarseStepMs) !== Math.floor(this.coarseSince / coarseStepMs) || now - this.coarseSince >= coarseStepMs) {
      const coarse = sample(this.coarseSince, this.coarseAdded, coarseStepMs)
      this.coarseAdded = 0
      this.coarseSince = now
      this.write('coarse', coarse, this.config.coarseKeepMs)
    }
    this.arm()
  }

  private write (series: Series, s: HistorySample, keepMs: number): void {
    this.onSample(series, s)
    // a failed write (storage full, private mode) costs the chart a point, nothing more
    void this.store.put(series, s, keepMs).catch(() => {})
  }
}

export class HistoryChart {
  readonly el: HTMLElement
  private readonly line: SVGPolylineElement
  private readonly area: SVGPolygonElement
  private readonly rateLine: SVGPolylineElement
  private readonly summary: HTMLElement
  private readonly buttons: Record<Series, HTMLButtonElement>
  private readonly data: Record<Series, HistorySample[]> = { fine: [], coarse: [] }
  private readonly config: Readonly<HistoryConfig>
  private series: Series = 'fine'

  constructor (config: Partial<HistoryConfig> = {}) {
    this.config = { ...DEFAULT_HISTORY_CONFIG, ...config }
    const id = `lp-history-${Math.random().toString(36).slice(2, 8)}`
    const chart = svg('svg', { class: 'lp-history-chart', viewBox: '0 0 100 40', preserveAspectRatio: 'none', 'aria-hidden': 'true' })
    this.area = svg('polygon', { class: 'lp-history-area', points: '' })
    this.line = svg('polyline', { class: 'lp-history-line', points: '' })
    this.rateLine = svg('polyline', { class: 'lp-history-rate', points: '' })
    chart.append(this.area, this.line, this.rateLine)
    const button = (series: Series, text: string): HTMLButtonElement => h('button', {
      class: 'lp-button lp-toggle',
      text,
      attrs: { type: 'button', 'aria-pressed': series === this.series ? 'true' : 'false', 'data-series': series },
      on: { click: () => { this.show(series) } }
    })
    this.buttons = { fine: button('fine', 'Last hour'), coarse: button('coarse', 'Last 24 h') }
    this.summary = h('p', { class: 'lp-history-summary', attrs: { 'aria-live': 'off' } })
    this.el = h('section', { class: 'lp-card lp-history', attrs: { 'aria-labelledby': id } },
      h('div', { class: 'lp-card-head' },
        h('h2', { class: 'lp-card-title', text: 'History', attrs: { id } }),
        h('div', { class: 'lp-toggles', attrs: { role: 'group', 'aria-label': 'Time span' } }, this.buttons.fine, this.buttons.coarse)),
      chart,
      h('p', { class: 'lp-history-legend lp-muted' },
        h('span', { class: 'lp-legend-count', text: 'pending txs' }), ' · ', h('span', { class: 'lp-legend-rate', text: 'arrivals per second' }),
        ' · kept in this browser across reloads'),
      this.summary)
  }

  /** Loads what the store holds (a reload shows the history at once). */
  async load (store: HistoryStore): Promise<void> {
    const now = Date.now()
    const [fine, coarse] = await Promise.all([
      store.range('fine', now - this.config.fineKeepMs),
      store.range('coarse', now - this.config.coarseKeepMs)
    ])
    // samples taken while loading are newer: keep them after the stored ones
    this.data.fine = merge(fine, this.data.fine)
    this.data.coarse = merge(coarse, this.data.coarse)
    this.render()
  }

  add (series: Series, s: HistorySample): void {
    const list = this.data[series]
    this.data[series] = merge(list, [s]).filter(x => x.t >= s.t - (series === 'fine' ? this.config.fineKeepMs : this.config.coarseKeepMs))
    if (series === this.series) this.render()
  }

  /** Samples of the series shown (for tests and the curious). */
  points (series: Series = this.series): readonly HistorySample[] { return this.data[series] }

  private show (series: Series): void {
    this.series = series
    setAttr(this.buttons.fine, 'aria-pressed', series === 'fine' ? 'true' : 'false')
    setAttr(this.buttons.coarse, 'aria-pressed', series === 'coarse' ? 'true' : 'false')
    this.render()
  }

  private render (): void {
    const data = this.data[this.series]
    const span = this.series === 'fine' ? this.config.fineKeepMs : this.config.coarseKeepMs
    const end = Date.now()
    const x = (t: number): string => Math.max(0, 100 - ((end - t) / span) * 100).toFixed(2)
    const maxCount = Math.max(1, ...data.map(s => s.count))
    const maxRate = Math.max(1, ...data.map(s => s.rate))
    const pts = data.map(s => `${x(s.t)},${(39 - (s.count / maxCount) * 37).toFixed(2)}`)
    setAttr(this.line, 'points', pts.join(' '))
    setAttr(this.area, 'points', pts.length === 0 ? '' : `${x(data[0]!.t)},40 ${pts.join(' ')} ${x(data.at(-1)!.t)},40`)
    setAttr(this.rateLine, 'points', data.map(s => `${x(s.t)},${(39 - (s.rate / maxRate) * 37).toFixed(2)}`).join(' '))
    this.el.dataset.points = String(data.length)
    this.el.dataset.first = String(data[0]?.t ?? '')
    const label = this.series === 'fine' ? 'the last hour' : 'the last 24 hours'
    if (data.length === 0) {
      setText(this.summary, `No history for ${label} yet: a sample is taken every ${this.series === 'fine' ? `${this.config.fineStepMs / 1000} s` : `${this.config.coarseStepMs / 60_000} min`}.`)
      return
    }
    const last = data.at(-1)!
    const minCount = Math.min(...data.map(s => s.count))
    setText(this.summary, `Over ${label} (${formatCount(data.length)} samples): pending ${formatCount(minCount)}–${formatCount(maxCount)} txs, now ${formatCount(last.count)} (${formatBytes(last.bytes)}); arrivals up to ${formatRate(maxRate)} tx/s.`)
  }
}

/** Two sample lists by key, the later one winning for equal keys, oldest first. */
function merge (a: HistorySample[], b: HistorySample[]): HistorySample[] {
  const byT = new Map<number, HistorySample>()
  for (const s of a) byT.set(s.t, s)
  for (const s of b) byT.set(s.t, s)
  return [...byT.values()].sort((p, q) => p.t - q.t)
}

import { h } from './dom.ts'
import { EventList, Histogram, PeerPanel, StatCards, StatusPill, TxTable } from './components.ts'
import { TxDetail } from './detail.ts'
import { formatBytes, formatCount, normalizeHashQuery, shortPeerId } from './format.ts'
import { PoolView, type Frame } from './pool-view.ts'
import { RollupBlocks } from './rollups.ts'
import { HistoryChart, HistoryRecorder } from './history.ts'
import { HistoryStore } from '../store/history-store.ts'
import { SubmitForm } from './submit.ts'
import { TxTimeline, type RollupConfig } from '../../src/index.ts'
import type { ObservedNode } from './types.ts'
import css from './dashboard.css?inline'

/** Typed as a plain string so the published .d.ts does not name Vite's `?inline` module (a consumer's tsc cannot resolve it). */
export const dashboardCss: string = css

export interface DashboardOptions {
  /** The widget's small layout: no search, peers, submit or storage; fewer rows. */
  compact?: boolean
  /** Rows in the pending table. Default 50 (compact: 8). */
  rows?: number
  /** Items in the event list. Default 60 (compact: 6). */
  events?: number
  /** Title in the header. Default "lightpool". */
  title?: string
  /** The projected rollups: how many and their capacity (defaults: DEFAULT_ROLLUP_CONFIG, src/pool/projection.ts). */
  rollups?: Partial<RollupConfig>
  /**
   * Whether a tx's page has its own URL (`#/tx/<hash>`): deep links, the back
   * button, a hash that can be shared. Default: on for the page, off for the
   * compact widget (it must not change its host page's URL).
   */
  routing?: boolean
}

/** `#/tx/<64 hex digits>` → the hash. */
function txRoute (fragment: string): string | undefined {
  const m = /^#\/tx\/(?:0x)?([0-9a-fA-F]{64})$/.exec(fragment)
  return m === null ? undefined : m[1]!.toLowerCase()
}

export interface RenderStats {
  frames: number
  meanMs: number
  p50Ms: number
  p95Ms: number
  maxMs: number
}

/**
 * The pool dashboard: the observer page's body, and (compact) the widget's.
 * Built once; `attach(node)` starts showing a node. Everything is redrawn in
 * animation frames from `PoolView` frames, and each part redraws only when
 * its data changed.
 */
export class Dashboard {
  readonly el: HTMLElement
  private readonly opts: Required<DashboardOptions>
  private readonly status = new StatusPill()
  private readonly stats: StatCards
  private readonly histogram = new Histogram('Fee distribution')
  private readonly rollups: RollupBlocks
  private readonly table: TxTable
  private readonly events: EventList
  private readonly peers: PeerPanel | undefined
  private readonly detail: TxDetail
  private readonly submit: SubmitForm | undefined
  private readonly history: HistoryChart | undefined
  private readonly meta: HTMLElement
  private node: ObservedNode | undefined
  private view: PoolView | undefined
  private timeline: TxTimeline | undefined
  private readonly cleanups: Array<() => void> = []
  private readonly frameMs: number[] = []
  private frames = 0

  constructor (options: DashboardOptions = {}) {
    const compact = options.compact ?? false
    this.opts = {
      compact,
      rows: options.rows ?? (compact ? 8 : 50),
      events: options.events ?? (compact ? 6 : 60),
      title: options.title ?? 'lightpool',
      rollups: options.rollups ?? {},
      routing: options.routing ?? !compact
    }
    this.rollups = new RollupBlocks({ compact })
    this.stats = new StatCards(compact)
    this.detail = new TxDetail({
      node: () => this.node,
      timeline: () => this.timeline,
      navigate: (hash) => { this.openTx(hash) },
      onClose: () => {
        // the page's URL goes back to the dashboard's
        if (this.opts.routing && txRoute(location.hash) !== undefined) history.replaceState(null, '', `${location.pathname}${location.search}`)
      }
    })
    this.table = new TxTable({ limit: this.opts.rows, searchable: !compact, onOpen: (hash) => { this.openTx(hash) } })
    this.events = new EventList(this.opts.events)
    this.events.el.addEventListener('click', (ev) => {
      const hash = (ev.target as Element).closest<HTMLElement>('[data-hash]')?.dataset.hash
      if (hash !== undefined) this.openTx(hash)
    })
    this.meta = h('span', { class: 'lp-meta' })
    const header = h('header', { class: 'lp-header' },
      h('div', { class: 'lp-brand' },
        h('span', { class: 'lp-logo', attrs: { 'aria-hidden': 'true' } }),
        h(compact ? 'strong' : 'h1', { class: 'lp-title', text: this.opts.title }),
        this.meta),
      this.status.el)
    if (compact) {
      this.el = h('div', { class: 'lp-dashboard lp-compact' }, header, this.stats.el, this.rollups.el, this.histogram.el, this.table.el, this.events.el, this.detail.el)
    } else {
      this.peers = new PeerPanel(undefined)
      this.submit = new SubmitForm(() => this.node, () => {})
      this.history = new HistoryChart()
      this.el = h('div', { class: 'lp-dashboard' },
        header,
        h('main', { class: 'lp-main' },
          this.stats.el,
          h('div', { class: 'lp-grid' },
            h('div', { class: 'lp-col-main' }, this.rollups.el, this.histogram.el, this.history.el, this.table.el),
            h('div', { class: 'lp-col-side' }, this.events.el, this.peers.el, this.submit.el))),
        this.detail.el)
      this.bindSearch()
    }
  }

  /** Opens a tx's page: through the URL (`#/tx/<hash>`) when routing, so it is a real, shareable address. */
  openTx (hash: string): void {
    if (this.opts.routing) {
      const target = `#/tx/${hash}`
      if (location.hash === target) this.detail.open(hash)
      else location.hash = target
    } else {
      this.detail.open(hash)
    }
  }

  /** Follows the URL: `#/tx/<hash>` opens that tx's page, anything else closes it. */
  private followRoute (): void {
    const hash = txRoute(location.hash)
    if (hash === undefined) this.detail.close()
    else if (this.detail.shown !== hash || !this.detail.el.open) this.detail.open(hash)
  }

  /** Starts showing `node`'s pool (it is shown at once, before any network activity). */
  attach (node: ObservedNode): void {
    this.detachNode()
    this.node = node
    const timeline = new TxTimeline(node.pool)
    this.timeline = timeline
    this.cleanups.push(() => { timeline.close() })
    if (this.opts.routing) {
      const onHash = (): void => { this.followRoute() }
      addEventListener('hashchange', onHash)
      this.cleanups.push(() => { removeEventListener('hashchange', onHash) })
      // a deep link: the tx's page at once, from the stored pool
      queueMicrotask(onHash)
    }
    const view = new PoolView(node.pool, { eventLimit: this.opts.events, rollups: this.opts.rollups })
    this.view = view
    const mode = node.mode === 'light' ? 'light node' : 'full node'
    this.meta.textContent = `${node.network} · ${mode} · ${shortPeerId(node.peerId.toString())}`
    this.meta.title = node.peerId.toString()
    this.cleanups.push(view.onFrame((frame) => { this.render(frame) }))
    if (node.connectivity !== undefined) {
      this.cleanups.push(node.connectivity.events.on('change', () => { view.mark('peers') }))
    }
    if (node.storage !== undefined && this.history !== undefined) {
      // the history lives where the pool does: a tab that keeps nothing (store: memory) keeps no history either
      const chart = this.history
      const store = new HistoryStore(node.network)
      // no stored history (IndexedDB refused or unavailable): the chart starts from now
      void chart.load(store).catch(() => {})
      const recorder = new HistoryRecorder(node.pool, store, (series, sample) => { chart.add(series, sample) })
      // a history database that fails to close is dropped with the page anyway
      this.cleanups.push(() => { recorder.stop(); void store.close().catch(() => {}) })
    }
    if (node.storage !== undefined && !this.opts.compact) {
      const storage = node.storage
      const refresh = (): void => {
        void storage.info().then((info) => {
          this.stats.setStorage(formatBytes(info.bytes), `${formatCount(info.count)} records · budget ${formatBytes(info.budgetBytes)}${info.persisted === true ? ' · persistent' : ''}`)
        }, () => {})
      }
      refresh()
      const t = setInterval(refresh, 1500)
      this.cleanups.push(() => { clearInterval(t) })
    }
    this.cleanups.push(() => { view.destroy() })
  }

  /** How long frames took to render (for the tests and the curious: `lightpoolObserver.perf()`). */
  perf (): RenderStats {
    const sorted = [...this.frameMs].sort((a, b) => a - b)
    const q = (p: number): number => sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
    return {
      frames: this.frames,
      meanMs: sorted.length === 0 ? 0 : sorted.reduce((a, b) => a + b, 0) / sorted.length,
      p50Ms: q(0.5),
      p95Ms: q(0.95),
      maxMs: sorted.at(-1) ?? 0
    }
  }

  resetPerf (): void {
    this.frameMs.length = 0
    this.frames = 0
  }

  destroy (): void {
    this.detachNode()
    this.el.remove()
  }

  private detachNode (): void {
    for (const c of this.cleanups.splice(0)) c()
    this.view = undefined
    this.timeline = undefined
  }

  private bindSearch (): void {
    const input = this.table.search
    if (input === undefined) return
    let timer: ReturnType<typeof setTimeout> | undefined
    const apply = (): void => {
      const view = this.view
      if (view === undefined) return
      const raw = input.value
      const q = normalizeHashQuery(raw)
      input.setAttribute('aria-invalid', raw.trim() !== '' && q === undefined ? 'true' : 'false')
      this.table.setQuery(raw.trim() === '' ? undefined : (q ?? raw.trim()), view)
      view.mark('table')
    }
    input.addEventListener('input', () => {
      if (timer !== undefined) clearTimeout(timer)
      timer = setTimeout(apply, 120)
    })
    input.addEventListener('keydown', (ev) => {
      if (ev.key !== 'Enter') return
      apply()
      const q = normalizeHashQuery(input.value)
      // a whole hash opens its page, pending or not (the page says what became of it)
      if (q?.length === 64) this.openTx(q)
    })
  }

  private render (frame: Frame): void {
    const view = this.view
    const node = this.node
    if (view === undefined || node === undefined) return
    const t0 = performance.now()
    const now = Date.now()
    const p = frame.parts
    if (p.has('stats') || p.has('clock')) this.stats.update(view, node)
    if (p.has('histogram')) this.histogram.update(view)
    if (p.has('rollups')) this.rollups.update(view)
    if (p.has('table') || p.has('clock')) this.table.update(view, now)
    if (frame.events.length > 0) this.events.update(frame)
    if (p.has('peers') || p.has('clock')) {
      this.status.update(node.connectivity?.status() ?? { relays: [], connections: [], peers: 0, webrtcPeers: 0 }, node.feedStats?.() ?? [], now)
      this.peers?.update(node, now)
    }
    const ms = performance.now() - t0
    // the first task after this frame runs once style, layout and paint are done:
    // the time until then is what the frame cost the main thread
    setTimeout(() => { view.reportFrameCost(performance.now() - t0) }, 0)
    this.frames++
    this.frameMs.push(ms)
    if (this.frameMs.length > 2000) this.frameMs.splice(0, 1000)
  }
}

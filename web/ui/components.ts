import type { PoolEntry, RelayFeedStats } from '../../src/index.ts'
import { connectionKind, type ConnectionKind, type ConnectivityStatus } from '../connectivity.ts'
import { h, setAttr, setText, svg } from './dom.ts'
import { compactFee, formatBytes, formatCount, formatDuration, formatFee, formatRate, formatTime, shortPeerId } from './format.ts'
import type { Frame, PoolEventItem, PoolView } from './pool-view.ts'
import type { ObservedNode } from './types.ts'

/**
 * The dashboard's parts. Each owns a fixed piece of DOM built once, and an
 * `update` that only changes text and a few attributes: no element is
 * created per tx except event-list items (bounded) and no layout is read.
 */

// ---- connection status ----

export type Health = 'loading' | 'online' | 'connecting' | 'offline'

export function health (st: ConnectivityStatus | undefined, feeds: readonly RelayFeedStats[] = [], now = Date.now()): { health: Health, label: string } {
  if (st === undefined) return { health: 'loading', label: 'Loading stored pool…' }
  const relayUp = st.relays.some(r => r.state === 'connected')
  if (st.peers > 0) {
    // connected is not enough: a tab that lists the pool from its relays' feeds and has no live
    // feed shows a pool that is not following the network, and says so (an empty pool is not a quiet one)
    const parts = [`${st.peers} peer${st.peers === 1 ? '' : 's'}`]
    if (st.webrtcPeers > 0) parts.push(`${st.webrtcPeers} WebRTC`)
    const feed = feedHealth(feeds, now)
    if (feed !== undefined) return { health: feed.health, label: `${feed.label} · ${parts.join(' · ')}` }
    return { health: 'online', label: `Online · ${parts.join(' · ')}${relayUp ? '' : ' · no relay'}` }
  }
  if (st.relays.some(r => r.state === 'connecting')) return { health: 'connecting', label: 'Connecting to relay…' }
  return { health: 'offline', label: 'Offline · showing the stored pool' }
}

/** Undefined while a feed is live (or none is followed: gossip only); else what the feeds are doing about it. */
function feedHealth (feeds: readonly RelayFeedStats[], now: number): { health: Health, label: string } | undefined {
  if (feeds.length === 0 || feeds.some(f => f.state === 'live')) return undefined
  if (feeds.some(f => f.state === 'resyncing')) return { health: 'connecting', label: 'Loading the pool from the relay…' }
  if (feeds.some(f => f.state === 'subscribing')) return { health: 'connecting', label: 'Subscribing to the relay\'s feed…' }
  const next = feeds.map(f => f.retryAt).filter((t): t is number => t !== undefined).sort((a, b) => a - b)[0]
  const last = feeds.map(f => f.lastEnded).filter(e => e !== undefined).sort((a, b) => b.at - a.at)[0]
  return {
    health: 'connecting',
    label: `Feed down${last === undefined ? '' : ` (${last.reason})`} · ${next === undefined ? 'resubscribing…' : `resubscribing in ${formatDuration(next - now)}`}`
  }
}

/** What a feed row says: its state and since when, and for a down feed why and what comes next. */
export function feedLine (s: RelayFeedStats, now: number): string {
  if (s.distrustedUntil !== undefined && s.distrustedUntil > now) return `distrusted until ${formatTime(s.distrustedUntil)}: a listing it could not back`
  const since = `since ${formatTime(s.stateSince)}`
  if (s.state === 'live') return `live ${since} · ${formatCount(s.listed)} listed`
  if (s.state === 'resyncing') return `resyncing ${since} · ${formatCount(s.listed)} listed so far`
  if (s.state === 'subscribing') return `subscribing…${s.lastEnded === undefined ? '' : ` · ended ${formatTime(s.lastEnded.at)}: ${s.lastEnded.reason}`}`
  const why = s.lastEnded === undefined ? '' : `: ${s.lastEnded.reason}`
  return `down ${since}${why} · ${s.retryAt === undefined ? 'resubscribing…' : `resubscribing in ${formatDuration(s.retryAt - now)}`}`
}

export class StatusPill {
  readonly el: HTMLElement
  private readonly text: HTMLElement
  constructor () {
    this.text = h('span', { class: 'lp-pill-text', text: 'Loading stored pool…' })
    this.el = h('span', { class: 'lp-pill', attrs: { 'data-health': 'loading', role: 'status', 'aria-live': 'polite' } }, h('span', { class: 'lp-dot', attrs: { 'aria-hidden': 'true' } }), this.text)
  }

  update (st: ConnectivityStatus | undefined, feeds: readonly RelayFeedStats[] = [], now = Date.now()): void {
    const { health: hl, label } = health(st, feeds, now)
    setAttr(this.el, 'data-health', hl)
    setText(this.text, label)
    // per relay, for the compact widget that has no peers panel
    setAttr(this.el, 'title', feeds.map(f => `feed of ${shortPeerId(f.peer)}: ${feedLine(f, now)}`).join('\n'))
  }
}

// ---- stat cards ----

function card (label: string, value: HTMLElement, sub: HTMLElement, extra?: Node): HTMLElement {
  return h('div', { class: 'lp-stat' }, h('div', { class: 'lp-stat-label', text: label }), value, extra ?? null, sub)
}

export class StatCards {
  readonly el: HTMLElement
  private readonly v: Record<'count' | 'bytes' | 'rate' | 'fee' | 'store', HTMLElement>
  private readonly s: Record<'count' | 'bytes' | 'rate' | 'fee' | 'store', HTMLElement>
  private readonly spark: SVGPolylineElement
  private readonly sparkArea: SVGPolygonElement
  private readonly compact: boolean
  private storeText = ''

  constructor (compact: boolean) {
    this.compact = compact
    const mk = (): HTMLElement => h('div', { class: 'lp-stat-value', text: '–' })
    const sub = (): HTMLElement => h('div', { class: 'lp-stat-sub', text: '' })
    this.v = { count: mk(), bytes: mk(), rate: mk(), fee: mk(), store: mk() }
    this.s = { count: sub(), bytes: sub(), rate: sub(), fee: sub(), store: sub() }
    const chart = svg('svg', { class: 'lp-spark', viewBox: '0 0 59 20', preserveAspectRatio: 'none', 'aria-hidden': 'true' })
    this.sparkArea = svg('polygon', { class: 'lp-spark-area', points: '' })
    this.spark = svg('polyline', { class: 'lp-spark-line', points: '' })
    chart.append(this.sparkArea, this.spark)
    const cards = [
      card('Pending txs', this.v.count, this.s.count),
      card('Pending size', this.v.bytes, this.s.bytes),
      card('Arrivals', this.v.rate, this.s.rate, compact ? undefined : chart),
      card('Median fee', this.v.fee, this.s.fee)
    ]
    if (!compact) cards.push(card('Stored in this tab', this.v.store, this.s.store))
    this.el = h('section', { class: 'lp-stats', attrs: { 'aria-label': 'Pool summary' } }, ...cards)
  }

  update (view: PoolView, node: ObservedNode): void {
    const st = node.pool.stats()
    setText(this.v.count, formatCount(st.count))
    setText(this.s.count, `cap ${formatCount(st.maxCount)}`)
    setText(this.v.bytes, formatBytes(st.bytes))
    setText(this.s.bytes, `${formatCount(st.withBody)} ${st.withBody === 1 ? 'body' : 'bodies'} held here`)
    setText(this.v.rate, `${formatRate(view.rate(10))} tx/s`)
    setText(this.s.rate, `last 10 s · ${formatCount(view.added)} in, ${formatCount(view.removed)} out`)
    const median = view.medianFee()
    setText(this.v.fee, median === undefined ? '–' : formatFee(median))
    setText(this.s.fee, `floor ${formatFee(st.feeFloor)}`)
    if (!this.compact) {
      const series = view.series()
      const max = Math.max(1, ...series)
      const pts = series.map((v, i) => `${i},${(20 - (v / max) * 18 - 1).toFixed(1)}`)
      setAttr(this.spark, 'points', pts.join(' '))
      setAttr(this.sparkArea, 'points', `0,20 ${pts.join(' ')} ${series.length - 1},20`)
      setText(this.v.store, this.storeText === '' ? (node.storage === undefined ? 'memory' : '…') : this.storeText)
    }
  }

  /** Storage numbers come asynchronously (IndexedDB); the dashboard refreshes them every few seconds. */
  setStorage (value: string, sub: string): void {
    this.storeText = value
    setText(this.v.store, value)
    setText(this.s.store, sub)
  }
}

// ---- fee histogram ----

/** Fee colours from cheap (teal) to dear (magenta), like a fee map. */
function feeColor (i: number, n: number): string {
  const t = n <= 1 ? 0 : i / (n - 1)
  const hue = 170 - t * 200
  return `hsl(${(hue + 360) % 360} 70% 55%)`
}

export class Histogram {
  readonly el: HTMLElement
  private readonly bars: HTMLElement
  private readonly axis: HTMLElement
  private readonly summary: HTMLElement
  private shown = ''

  constructor (title: string) {
    this.bars = h('div', { class: 'lp-hist-bars' })
    this.axis = h('div', { class: 'lp-hist-axis', attrs: { 'aria-hidden': 'true' } })
    this.summary = h('p', { class: 'lp-sr-only' })
    const id = `lp-hist-${Math.random().toString(36).slice(2, 8)}`
    this.el = h('section', { class: 'lp-card lp-hist', attrs: { 'aria-labelledby': id } },
      h('h2', { class: 'lp-card-title', text: title, attrs: { id } }),
      h('div', { class: 'lp-hist-chart', attrs: { role: 'img', 'aria-label': 'Pending transactions by fee' } }, this.bars, this.axis),
      h('p', { class: 'lp-hist-note', text: 'Pending txs per fee band; each band runs from its label up to the next (fees double per band).' }),
      this.summary)
  }

  update (view: PoolView): void {
    const data = view.histogram(14)
    const key = data.map(b => `${b.lo}:${b.count}`).join(',')
    if (key === this.shown) return
    this.shown = key
    const max = Math.max(1, ...data.map(b => b.count))
    // bar elements are reused; only their heights and labels change
    while (this.bars.children.length < data.length) {
      this.bars.append(h('div', { class: 'lp-hist-col' }, h('span', { class: 'lp-hist-count' }), h('div', { class: 'lp-hist-bar' })))
      this.axis.append(h('span', { class: 'lp-hist-label' }))
    }
    while (this.bars.children.length > data.length) {
      this.bars.lastElementChild!.remove()
      this.axis.lastElementChild!.remove()
    }
    data.forEach((b, i) => {
      const col = this.bars.children[i] as HTMLElement
      const bar = col.lastElementChild as HTMLElement
      const pct = b.count === 0 ? 0 : Math.max(2, (b.count / max) * 100)
      bar.style.height = `${pct}%`
      bar.style.background = feeColor(i, data.length)
      setText(col.firstElementChild!, b.count === 0 ? '' : formatCount(b.count))
      setAttr(col, 'title', `fee ${formatFee(b.lo)}–${formatFee(b.hi - 1n)}: ${formatCount(b.count)} txs, ${formatBytes(b.bytes)}`)
      setText(this.axis.children[i]!, compactFee(b.lo))
    })
    const best = data.reduce<{ count: number, label: string }>((acc, b) => b.count > acc.count ? { count: b.count, label: `${formatFee(b.lo)}–${formatFee(b.hi - 1n)}` } : acc, { count: 0, label: '' })
    setText(this.summary, data.length === 0 ? 'No pending transactions.' : `Most pending transactions pay a fee of ${best.label} (${formatCount(best.count)}).`)
  }
}

// ---- pending txs table ----

interface Row { tr: HTMLTableRowElement, hash: HTMLElement, fee: HTMLElement, size: HTMLElement, age: HTMLElement, left: HTMLElement, body: HTMLElement, key: string }

export class TxTable {
  readonly el: HTMLElement
  readonly search: HTMLInputElement | undefined
  private readonly tbody: HTMLTableSectionElement
  private readonly caption: HTMLElement
  private readonly empty: HTMLElement
  private readonly rows: Row[] = []
  private readonly limit: number
  private readonly onOpen: (hash: string) => void
  private query: string | undefined
  private matches: PoolEntry[] | undefined

  constructor (opts: { limit: number, searchable: boolean, onOpen: (hash: string) => void }) {
    this.limit = opts.limit
    this.onOpen = opts.onOpen
    this.tbody = h('tbody')
    this.caption = h('caption', { class: 'lp-caption' })
    const th = (text: string, cls = ''): HTMLElement => h('th', { text, class: cls, attrs: { scope: 'col' } })
    const table = h('table', { class: 'lp-table' }, this.caption,
      h('thead', {}, h('tr', {}, th('Hash', 'lp-col-hash'), th('Fee', 'lp-num'), th('Size', 'lp-num'), th('Age', 'lp-num'), th('Expires in', 'lp-num lp-col-exp'), th('Body', 'lp-col-body'))),
      this.tbody)
    this.empty = h('p', { class: 'lp-empty', text: 'No pending transactions yet.' })
    const titleId = `lp-txs-${Math.random().toString(36).slice(2, 8)}`
    const head = h('div', { class: 'lp-card-head' }, h('h2', { class: 'lp-card-title', text: 'Pending transactions', attrs: { id: titleId } }))
    if (opts.searchable) {
      this.search = h('input', {
        class: 'lp-search',
        attrs: { type: 'search', placeholder: 'Search by tx hash (hex prefix)', 'aria-label': 'Search pending transactions by hash', spellcheck: 'false', autocomplete: 'off' }
      })
      head.append(this.search)
    }
    this.el = h('section', { class: 'lp-card lp-txs', attrs: { 'aria-labelledby': titleId } }, head, h('div', { class: 'lp-table-wrap' }, table), this.empty)
    // one listener for every row: rows are recycled
    this.tbody.addEventListener('click', (ev) => {
      const tr = (ev.target as Element).closest('tr')
      const hash = tr?.dataset.hash
      if (hash !== undefined && hash !== '') this.onOpen(hash)
    })
  }

  /** Sets the search: a hex prefix, or undefined for the top txs by fee. */
  setQuery (prefix: string | undefined, view: PoolView): void {
    this.query = prefix
    this.matches = prefix === undefined ? undefined : view.search(prefix, this.limit)
  }

  update (view: PoolView, now = Date.now()): void {
    if (this.query !== undefined && this.matches !== undefined) {
      // keep the matches fresh: drop the ones that left
      this.matches = this.matches.filter(tx => view.pool.has(tx.hash))
    }
    const txs = this.matches ?? view.top(this.limit)
    const total = view.pool.size
    setText(this.caption, this.query !== undefined
      ? `${formatCount(txs.length)} match${txs.length === 1 ? '' : 'es'} for “${this.query}”`
      : `Top ${formatCount(txs.length)} of ${formatCount(total)} by fee`)
    this.empty.hidden = txs.length > 0
    setText(this.empty, this.query !== undefined ? `No pending transaction matches “${this.query}”.` : 'No pending transactions yet.')
    while (this.rows.length < txs.length) this.rows.push(this.makeRow())
    txs.forEach((tx, i) => { this.fill(this.rows[i]!, tx, now) })
    for (let i = txs.length; i < this.rows.length; i++) this.rows[i]!.tr.hidden = true
  }

  private makeRow (): Row {
    const hash = h('code', { class: 'lp-hash' })
    const button = h('button', { class: 'lp-hash-button', attrs: { type: 'button' } }, hash)
    const cell = (cls: string): HTMLTableCellElement => h('td', { class: cls })
    const fee = cell('lp-num lp-fee')
    const size = cell('lp-num')
    const age = cell('lp-num')
    const left = cell('lp-num lp-col-exp')
    const body = cell('lp-col-body')
    const tr = h('tr', {}, h('td', { class: 'lp-col-hash' }, button), fee, size, age, left, body)
    this.tbody.append(tr)
    return { tr, hash, fee, size, age, left, body, key: '' }
  }

  private fill (row: Row, tx: PoolEntry, now: number): void {
    row.tr.hidden = false
    if (row.key !== tx.hash) {
      row.key = tx.hash
      row.tr.dataset.hash = tx.hash
      setText(row.hash, tx.hash)
      setAttr(row.hash.parentElement!, 'aria-label', `Show transaction ${tx.hash}`)
      setText(row.fee, formatFee(tx.fee))
      setText(row.size, formatBytes(tx.size))
    }
    setText(row.age, formatDuration(now - tx.receivedAt))
    setText(row.left, formatDuration(tx.expiresAt - now))
    setText(row.body, tx.hasBody ? 'held' : 'on demand')
    setAttr(row.body, 'data-held', tx.hasBody ? 'true' : 'false')
  }
}

// ---- live events ----

const EVENT_LABEL: Record<string, string> = {
  added: 'added',
  body: 'body',
  replaced: 'replaced',
  evicted: 'evicted',
  expired: 'expired',
  mined: 'mined',
  conflict: 'conflict',
  invalid: 'invalid',
  'store-failed': 'store failed',
  removed: 'removed'
}

/**
 * Most items one frame adds to the event list. At 100 tx/s a frame carries
 * ~20 events; the list shows ~14 at a time in its scroller, so adding more
 * per frame only creates nodes that are pushed out unseen (the counters
 * still count every event).
 */
const EVENTS_PER_FRAME = 20

export class EventList {
  readonly el: HTMLElement
  private readonly list: HTMLOListElement
  private readonly max: number
  private readonly perFrame: number

  constructor (max: number, perFrame = EVENTS_PER_FRAME) {
    this.max = max
    this.perFrame = Math.min(max, perFrame)
    this.list = h('ol', { class: 'lp-events', attrs: { 'aria-live': 'off' } })
    const id = `lp-ev-${Math.random().toString(36).slice(2, 8)}`
    this.el = h('section', { class: 'lp-card lp-events-card', attrs: { 'aria-labelledby': id } },
      h('h2', { class: 'lp-card-title', text: 'Live events', attrs: { id } }), this.list)
  }

  update (frame: Frame): void {
    if (frame.events.length === 0) return
    const items = frame.events.slice(-this.perFrame)
    const frag = document.createDocumentFragment()
    for (let i = items.length - 1; i >= 0; i--) frag.append(this.item(items[i]!))
    this.list.prepend(frag)
    while (this.list.childElementCount > this.max) this.list.lastElementChild!.remove()
  }

  private item (e: PoolEventItem): HTMLElement {
    const li = h('li', { class: 'lp-event', attrs: { 'data-kind': e.kind } },
      h('time', { class: 'lp-event-time', text: formatTime(e.at), attrs: { datetime: new Date(e.at).toISOString() } }),
      h('span', { class: 'lp-badge', text: EVENT_LABEL[e.kind] ?? e.kind }),
      // a button: the event's tx page is reachable by keyboard (Tab, Enter) too
      h('button', { class: 'lp-hash-button', attrs: { type: 'button', 'aria-label': `${EVENT_LABEL[e.kind] ?? e.kind}: show transaction ${e.hash}` } }, h('code', { class: 'lp-hash', text: e.hash })),
      h('span', { class: 'lp-event-fee', text: `fee ${formatFee(e.fee)}` }))
    li.dataset.hash = e.hash
    if (e.by !== undefined) li.title = `by ${e.by}`
    return li
  }
}

// ---- peers ----

const KIND_LABEL: Record<ConnectionKind, string> = {
  websocket: 'WebSocket',
  relay: 'Relay',
  webrtc: 'WebRTC',
  'webrtc-direct': 'WebRTC direct',
  webtransport: 'WebTransport',
  tcp: 'TCP',
  other: 'Other'
}

export class PeerPanel {
  readonly el: HTMLElement
  private readonly list: HTMLUListElement
  private readonly self: HTMLElement
  private readonly relays: HTMLUListElement
  private readonly feeds: HTMLUListElement
  private shown = ''
  private feedsShown = ''
  private readonly feedRows = new Map<string, { li: HTMLElement, what: HTMLElement, checks: HTMLElement }>()

  constructor (node: ObservedNode | undefined) {
    this.self = h('code', { class: 'lp-peer-self', text: node?.peerId.toString() ?? '…' })
    this.relays = h('ul', { class: 'lp-relays' })
    this.feeds = h('ul', { class: 'lp-feeds', attrs: { 'data-testid': 'feeds' } })
    this.list = h('ul', { class: 'lp-peers' })
    const id = `lp-peers-${Math.random().toString(36).slice(2, 8)}`
    this.el = h('section', { class: 'lp-card lp-peers-card', attrs: { 'aria-labelledby': id } },
      h('h2', { class: 'lp-card-title', text: 'Peers', attrs: { id } }),
      h('p', { class: 'lp-self' }, h('span', { class: 'lp-muted', text: 'This tab’s peer id' }), this.self),
      h('h3', { class: 'lp-subtitle', text: 'Relays' }), this.relays,
      h('h3', { class: 'lp-subtitle', text: 'Feeds followed' }), this.feeds,
      h('h3', { class: 'lp-subtitle', text: 'Connections' }), this.list)
  }

  /**
   * One line per relay whose feed this tab follows: live, resyncing,
   * subscribing or down and since when (down: why, and when it tries
   * again), what it lists and what the tab's checks found of it. A relay that hides txs shows as `missed`
   * (others listed them, it did not), one that invents or lists alone as
   * `alone` or `unbacked`; a distrusted one is not followed until the time shown.
   */
  private updateFeeds (stats: readonly RelayFeedStats[], now: number): void {
    // The set of relays changes rarely; their state and counts change with every tx. Rows are
    // rebuilt only for the former, state and texts updated in place for the latter, so a busy
    // pool does not rebuild this list many times a second.
    const key = JSON.stringify(stats.map(s => s.peer))
    if (key !== this.feedsShown) {
      this.feedsShown = key
      this.feedRows.clear()
      const items = stats.map(s => {
        const row = {
          li: h('li', { class: 'lp-feed', attrs: { 'data-peer': s.peer } }),
          what: h('span', { class: 'lp-muted' }),
          checks: h('span', { class: 'lp-feed-checks lp-muted', attrs: { title: 'checked: bodies fetched to check its listings; unbacked: listings it could not back; missed: txs other relays listed and it did not; alone: txs it listed and no other followed relay did' } })
        }
        row.li.append(
          h('span', { class: 'lp-dot', attrs: { 'aria-hidden': 'true' } }),
          h('code', { class: 'lp-peer-id', text: shortPeerId(s.peer), attrs: { title: s.peer } }),
          row.what, row.checks)
        this.feedRows.set(s.peer, row)
        return row.li
      })
      if (items.length === 0) items.push(h('li', { class: 'lp-muted', text: 'No feed followed (this node listens to gossip only).' }))
      this.feeds.replaceChildren(...items)
    }
    for (const s of stats) {
      const row = this.feedRows.get(s.peer)
      if (row === undefined) continue
      const distrusted = s.distrustedUntil !== undefined && s.distrustedUntil > now
      setAttr(row.li, 'data-state', distrusted ? 'distrusted' : s.state)
      setText(row.what, feedLine(s, now))
      setText(row.checks, `checked ${formatCount(s.checked)} · unbacked ${formatCount(s.unbacked)} · missed ${formatCount(s.missed)} · alone ${formatCount(s.alone)}`)
    }
  }

  update (node: ObservedNode, now = Date.now()): void {
    setText(this.self, node.peerId.toString())
    this.updateFeeds(node.feedStats?.() ?? [], now)
    const st = node.connectivity?.status()
    if (st === undefined) return
    const key = JSON.stringify([st.relays.map(r => [r.state, r.reserved, r.retryAt === undefined ? 0 : Math.ceil((r.retryAt - now) / 1000)]), st.connections.map(c => [c.peerId, c.kind, c.direction])])
    if (key === this.shown) return
    this.shown = key
    this.relays.replaceChildren(...st.relays.map(r => {
      const state = r.state === 'connected'
        ? (r.reserved ? 'connected · reservation held' : 'connected · reserving…')
        : r.state === 'connecting'
          ? 'connecting…'
          : `down · retry in ${formatDuration(Math.max(0, (r.retryAt ?? now) - now))}`
      return h('li', { class: 'lp-relay', attrs: { 'data-state': r.state } },
        h('span', { class: 'lp-dot', attrs: { 'aria-hidden': 'true' } }),
        h('code', { class: 'lp-addr', text: r.addr, attrs: { title: r.addr } }),
        h('span', { class: 'lp-muted', text: state }))
    }))
    const byPeer = new Map<string, typeof st.connections>()
    for (const c of st.connections) byPeer.set(c.peerId, [...(byPeer.get(c.peerId) ?? []), c])
    const items = [...byPeer.entries()].map(([peer, conns]) => {
      const kinds = [...new Set(conns.map(c => connectionKind(c.remoteAddr)))]
      const isRelay = conns.some(c => c.relay)
      return h('li', { class: 'lp-peer' },
        ...kinds.map(k => h('span', { class: 'lp-kind', text: KIND_LABEL[k], attrs: { 'data-kind': k } })),
        h('code', { class: 'lp-peer-id', text: shortPeerId(peer), attrs: { title: peer } }),
        h('span', { class: 'lp-muted', text: `${isRelay ? 'relay · ' : ''}${conns[0]!.direction}` }))
    })
    if (items.length === 0) items.push(h('li', { class: 'lp-muted', text: 'No connections.' }))
    this.list.replaceChildren(...items)
  }
}

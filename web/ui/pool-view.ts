import { forecast, rollupConfig, type PoolEntry, type PoolForecast, type RemovalReason, type RollupConfig, type TxPool } from '../../src/index.ts'

/**
 * What the observer page and the widget show, kept up to date from the pool's
 * events without touching the DOM: counters, the arrival rate, the fee
 * histogram, and recent events. Renderers ask for a *frame*: at most one per
 * animation frame, carrying what changed since the last one, however many
 * txs arrived in between. That is what keeps the page smooth at 100 tx/s:
 * the cost of a frame depends on what is shown, not on the arrival rate.
 */
export type PoolEventKind = 'added' | 'body' | RemovalReason

export interface PoolEventItem {
  kind: PoolEventKind
  hash: string
  fee: bigint
  size: number
  at: number
  /** the tx that replaced or evicted this one */
  by?: string
}

export type Part = 'stats' | 'table' | 'histogram' | 'rollups' | 'events' | 'peers' | 'clock'

export interface Frame {
  parts: Set<Part>
  /** Events since the previous frame, oldest first (at most `eventLimit`). */
  events: PoolEventItem[]
}

export interface HistogramBar {
  /** Fees in [lo, hi). */
  lo: bigint
  hi: bigint
  count: number
  bytes: number
}

export interface PoolViewInit {
  /** Events kept for a frame; older ones in a burst are dropped from the list (never from the counts). Default 100. */
  eventLimit?: number
  /** Seconds of arrival history kept for the rate and its sparkline. Default 60. */
  rateWindowSeconds?: number
  /** Schedules a frame: requestAnimationFrame in a page. */
  schedule?: (fn: () => void) => void
  /** The rollups projected ahead and their capacity (defaults: DEFAULT_ROLLUP_CONFIG). */
  rollups?: Partial<RollupConfig>
  /**
   * Least time between two projections, in ms. A projection walks up to
   * K × maxTxs of the best txs; at 100 tx/s redoing it every frame would be
   * most of the frame's work for a picture that changes little. Default 500.
   */
  forecastIntervalMs?: number
  /**
   * Least time between two frames, in ms. Measured (bench:observer, Chromium
   * with software rendering): at one frame per animation frame under load,
   * paint and layout of the changed table, list and cards took most of the
   * main thread (Paint alone 13 s of 54 s) and long tasks 16–55 % of the
   * time; a person reads a changing figure a few times a second at most.
   * Default 200 (5 frames a second while txs arrive; none while idle).
   */
  minFrameIntervalMs?: number
  /**
   * The most a frame may cost, as a share of the time between frames: when a
   * frame (script, style, layout, paint: `reportFrameCost`) took c ms, the
   * next waits at least c ÷ this. On a loaded machine frames then come less
   * often instead of filling the main thread. Default 0.1 (10 %).
   */
  frameBudgetShare?: number
  /** The longest wait between frames while things change, in ms: the page still moves twice a second on the slowest machine. Default 500. */
  maxFrameIntervalMs?: number
}

/** Octave buckets: bucket k holds fees with bit length k, i.e. [2^(k-1), 2^k); bucket 0 holds fee 0. */
export function feeBucket (fee: bigint): number {
  return fee <= 0n ? 0 : fee.toString(2).length
}

function bucketRange (k: number): [bigint, bigint] {
  if (k === 0) return [0n, 1n]
  return [1n << BigInt(k - 1), 1n << BigInt(k)]
}

export class PoolView {
  readonly pool: TxPool
  private readonly eventLimit: number
  private readonly window: number
  private readonly schedule: (fn: () => void) => void
  private readonly listeners = new Set<(frame: Frame) => void>()
  private readonly unsubscribe: Array<() => void> = []
  private readonly bucketCounts = new Map<number, { count: number, bytes: number }>()
  /** arrivals per second, ring of `window` slots keyed by unix second */
  private readonly arrivals: Float64Array
  private arrivalsSecond = 0
  private pendingEvents: PoolEventItem[] = []
  private readonly recent: PoolEventItem[] = []
  private dirty = new Set<Part>()
  private scheduled = false
  private lastFlush = 0
  private readonly minFrameIntervalMs: number
  private readonly maxFrameIntervalMs: number
  private readonly frameBudgetShare: number
  private frameIntervalMs: number
  private medianCache: { at: number, size: number, fee: bigint | undefined } = { at: 0, size: -1, fee: undefined }
  private timer: ReturnType<typeof setInterval> | undefined
  private readonly rollupConfig: Readonly<RollupConfig>
  private readonly forecastIntervalMs: number
  private forecastCache: { at: number, version: number, value: PoolForecast } | undefined
  /** Bumped on every pool change: caches compare it. */
  private version = 0
  /** Total txs added / removed since the view started. */
  added = 0
  removed = 0

  constructor (pool: TxPool, init: PoolViewInit = {}) {
    this.pool = pool
    this.eventLimit = init.eventLimit ?? 100
    this.window = init.rateWindowSeconds ?? 60
    this.arrivals = new Float64Array(this.window)
    this.rollupConfig = rollupConfig(init.rollups)
    this.forecastIntervalMs = init.forecastIntervalMs ?? 500
    this.minFrameIntervalMs = init.minFrameIntervalMs ?? 200
    this.maxFrameIntervalMs = Math.max(this.minFrameIntervalMs, init.maxFrameIntervalMs ?? 500)
    this.frameBudgetShare = init.frameBudgetShare ?? 0.1
    this.frameIntervalMs = this.minFrameIntervalMs
    this.arrivalsSecond = Math.floor(Date.now() / 1000)
    this.schedule = init.schedule ?? ((fn) => {
      if (typeof requestAnimationFrame === 'function' && (typeof document === 'undefined' || document.visibilityState === 'visible')) requestAnimationFrame(() => { fn() })
      else setTimeout(fn, 50)
    })
    for (const tx of pool.best()) this.count(tx, 1)
    this.unsubscribe.push(
      pool.events.on('added', ({ tx }) => {
        this.added++
        this.count(tx, 1)
        this.arrive(Date.now())
        this.push({ kind: 'added', hash: tx.hash, fee: tx.fee, size: tx.size, at: Date.now() })
      }),
      pool.events.on('removed', ({ tx, reason, by }) => {
        this.removed++
        this.count(tx, -1)
        const item: PoolEventItem = { kind: reason, hash: tx.hash, fee: tx.fee, size: tx.size, at: Date.now() }
        if (by !== undefined) item.by = by
        this.push(item)
      }),
      pool.events.on('body', ({ tx }) => {
        this.push({ kind: 'body', hash: tx.hash, fee: tx.fee, size: tx.size, at: Date.now() })
      })
    )
    // ages, time left, the rate's decay: once a second
    this.timer = setInterval(() => { this.mark('clock', 'stats') }, 1000)
  }

  /** Calls `fn` with each frame; returns the unsubscribe. The first frame (everything) comes at once. */
  onFrame (fn: (frame: Frame) => void): () => void {
    this.listeners.add(fn)
    fn({ parts: new Set<Part>(['stats', 'table', 'histogram', 'rollups', 'events', 'peers', 'clock']), events: [...this.recent] })
    return () => { this.listeners.delete(fn) }
  }

  /**
   * What the last frame cost the main thread, in ms (its script and the
   * style, layout and paint after it): sets the wait before the next one.
   */
  reportFrameCost (ms: number): void {
    this.frameIntervalMs = Math.min(this.maxFrameIntervalMs, Math.max(this.minFrameIntervalMs, ms / this.frameBudgetShare))
  }

  /** The wait between frames now, in ms. */
  get frameInterval (): number { return this.frameIntervalMs }

  /** Marks parts changed by something outside the pool (peers, connectivity). */
  mark (...parts: Part[]): void {
    for (const p of parts) this.dirty.add(p)
    this.request()
  }

  destroy (): void {
    for (const u of this.unsubscribe.splice(0)) u()
    if (this.timer !== undefined) clearInterval(this.timer)
    if (this.forecastTimer !== undefined) clearTimeout(this.forecastTimer)
    this.listeners.clear()
  }

  // ---- queries ----

  /** Txs per second over the last `seconds` complete seconds. */
  rate (seconds = 10, now = Date.now()): number {
    this.roll(Math.floor(now / 1000))
    const n = Math.min(seconds, this.window - 1)
    let sum = 0
    for (let i = 1; i <= n; i++) sum += this.arrivals[(this.arrivalsSecond - i + this.window * 2) % this.window]!
    return sum / n
  }

  /** Arrivals per second, oldest first, the last `window - 1` complete seconds. */
  series (now = Date.now()): number[] {
    this.roll(Math.floor(now / 1000))
    const out: number[] = []
    for (let i = this.window - 1; i >= 1; i--) out.push(this.arrivals[(this.arrivalsSecond - i + this.window * 2) % this.window]!)
    return out
  }

  /** Contiguous octave buckets from the lowest to the highest non-empty one (at most `maxBars`, merged from the bottom). */
  histogram (maxBars = 16): HistogramBar[] {
    const keys = [...this.bucketCounts.entries()].filter(([, v]) => v.count > 0).map(([k]) => k)
    if (keys.length === 0) return []
    let lo = Math.min(...keys)
    const hi = Math.max(...keys)
    const bars: HistogramBar[] = []
    // too wide a spread: fold the cheapest buckets into the first bar
    let folded = { count: 0, bytes: 0 }
    if (hi - lo + 1 > maxBars) {
      const start = hi - maxBars + 1
      for (let k = lo; k <= start; k++) {
        const v = this.bucketCounts.get(k)
        if (v !== undefined) folded = { count: folded.count + v.count, bytes: folded.bytes + v.bytes }
      }
      bars.push({ lo: bucketRange(lo)[0], hi: bucketRange(start)[1], ...folded })
      lo = start + 1
    }
    for (let k = lo; k <= hi; k++) {
      const v = this.bucketCounts.get(k) ?? { count: 0, bytes: 0 }
      const [a, b] = bucketRange(k)
      bars.push({ lo: a, hi: b, count: v.count, bytes: v.bytes })
    }
    return bars
  }

  /** The median pending fee, recomputed at most every 250 ms, and only when the pool changed size or a second passed (it walks half the pool). */
  medianFee (now = Date.now()): bigint | undefined {
    const age = now - this.medianCache.at
    if (age < 250 || (age < 1000 && this.medianCache.size === this.pool.size)) return this.medianCache.fee
    const n = this.pool.size
    let fee: bigint | undefined
    if (n > 0) {
      let i = 0
      const mid = Math.floor((n - 1) / 2)
      for (const tx of this.pool.best()) {
        if (i++ === mid) { fee = tx.fee; break }
      }
    }
    this.medianCache = { at: now, size: n, fee }
    return fee
  }

  /**
   * The projected next rollups and the fee estimate (src/pool/projection.ts),
   * recomputed only when the pool changed and at most every
   * `forecastIntervalMs`; `fresh` says whether this call recomputed it.
   */
  forecast (now = Date.now()): PoolForecast & { fresh: boolean } {
    const c = this.forecastCache
    if (c !== undefined && (c.version === this.version || now - c.at < this.forecastIntervalMs)) {
      if (c.version !== this.version) this.scheduleForecast(c.at + this.forecastIntervalMs - now)
      return { ...c.value, fresh: false }
    }
    const value = forecast(this.pool, this.rollupConfig)
    this.forecastCache = { at: now, version: this.version, value }
    return { ...value, fresh: true }
  }

  /** The best `n` pending txs. */
  top (n: number): PoolEntry[] {
    const out: PoolEntry[] = []
    if (n <= 0) return out
    for (const tx of this.pool.best()) {
      out.push(tx)
      if (out.length >= n) break
    }
    return out
  }

  /** Pending txs whose hash starts with `prefix` (a scan: run on input, not per frame), best first. */
  search (prefix: string, limit: number): PoolEntry[] {
    const exact = prefix.length === 64 ? this.pool.get(prefix) : undefined
    if (exact !== undefined) return [exact]
    const out: PoolEntry[] = []
    for (const tx of this.pool.best()) {
      if (tx.hash.startsWith(prefix)) {
        out.push(tx)
        if (out.length >= limit) break
      }
    }
    return out
  }

  // ---- internals ----

  private count (tx: PoolEntry, sign: 1 | -1): void {
    const k = feeBucket(tx.fee)
    const v = this.bucketCounts.get(k) ?? { count: 0, bytes: 0 }
    v.count += sign
    v.bytes += sign * tx.size
    this.bucketCounts.set(k, v)
    this.version++
    this.dirty.add('stats').add('table').add('histogram').add('rollups')
  }

  private forecastTimer: ReturnType<typeof setTimeout> | undefined
  /** A projection skipped for its interval is redone once the interval is over, even if nothing else changes. */
  private scheduleForecast (ms: number): void {
    if (this.forecastTimer !== undefined) return
    this.forecastTimer = setTimeout(() => {
      this.forecastTimer = undefined
      this.mark('rollups')
    }, Math.max(0, ms))
  }

  private roll (second: number): void {
    if (second <= this.arrivalsSecond) return
    const gap = Math.min(second - this.arrivalsSecond, this.window)
    for (let i = 1; i <= gap; i++) this.arrivals[(this.arrivalsSecond + i) % this.window] = 0
    this.arrivalsSecond = second
  }

  private arrive (now: number): void {
    const s = Math.floor(now / 1000)
    this.roll(s)
    this.arrivals[s % this.window]!++
  }

  private push (item: PoolEventItem): void {
    this.pendingEvents.push(item)
    if (this.pendingEvents.length > this.eventLimit * 2) this.pendingEvents = this.pendingEvents.slice(-this.eventLimit)
    this.recent.push(item)
    if (this.recent.length > this.eventLimit) this.recent.shift()
    this.dirty.add('events')
    this.request()
  }

  private request (): void {
    if (this.scheduled) return
    this.scheduled = true
    const wait = this.lastFlush + this.frameIntervalMs - Date.now()
    if (wait > 0) setTimeout(() => { this.schedule(() => { this.flush() }) }, wait)
    else this.schedule(() => { this.flush() })
  }

  private flush (): void {
    this.scheduled = false
    this.lastFlush = Date.now()
    if (this.dirty.size === 0 && this.pendingEvents.length === 0) return
    const frame: Frame = { parts: this.dirty, events: this.pendingEvents.slice(-this.eventLimit) }
    this.dirty = new Set()
    this.pendingEvents = []
    for (const fn of this.listeners) {
      try {
        fn(frame)
      } catch (err) {
        console.error('lightpool: a renderer threw', err)
      }
    }
  }
}

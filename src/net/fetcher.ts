import { deadline, type Deadline } from '../util/deadline.ts'

/**
 * FetchScheduler: downloads each announced body once, from a peer that has it.
 *
 * A hash moves through these states (after geth's eth/fetcher/tx_fetcher.go):
 *
 *   waiting ──(its peer is idle)──► fetching ──(body)──► delivering ──► done
 *      ▲                               │                     │
 *      └──(timeout, missing, or the body was not that hash: next source)
 *
 * - waiting: announced by one or more peers (its sources) and queued on one of
 *   them. Each peer has at most one request in flight, so hashes that arrive
 *   meanwhile wait and go together in the next request: batching comes from
 *   the one-in-flight rule itself, without a timer on the fast path.
 * - fetching: in a request to its peer, which must answer within a timeout
 *   that grows with the bytes asked for.
 * - delivering: the body is being validated and admitted by the owner.
 * - done: delivered (whatever the verdict), or every source failed.
 *
 * A hash is in one request at a time: another announcement of it only adds a
 * source, so a body on its way is never asked for twice. If the hash is still
 * waiting on a busy peer and the new source is idle, it moves there.
 *
 * This class knows peers only as strings and the network only through the
 * `request` function it is given, so it is tested without libp2p.
 */

export interface FetcherConfig {
  /** Most hashes in one request. 64 bodies of ~40 KB exceed the byte cap anyway. */
  maxHashesPerRequest: number
  /** Announced bytes per request: 1 MiB keeps a request under a second on a slow browser link. */
  maxBytesPerRequest: number
  /** Base timeout of a request, before the allowance for its bytes. Default 2 s. */
  requestTimeoutMs: number
  /** Slowest throughput a peer may serve at before it counts as timed out: 256 KiB/s. */
  minBytesPerSecond: number
  /** Most hashes tracked at once (any state); past this, new announcements are dropped. Default 8192. */
  maxTracked: number
  /** Most hashes waiting on one peer: the cap on its outstanding announcements. Default 1024. */
  maxQueuedPerPeer: number
  /** Most sources remembered per hash. Default 8. */
  maxSourcesPerHash: number
}

const DEFAULT_FETCHER_CONFIG: Readonly<FetcherConfig> = Object.freeze({
  maxHashesPerRequest: 64,
  maxBytesPerRequest: 1024 * 1024,
  requestTimeoutMs: 2_000,
  minBytesPerSecond: 256 * 1024,
  maxTracked: 8192,
  maxQueuedPerPeer: 1024,
  maxSourcesPerHash: 8
})

/** One result per requested hash, in order. */
export type FetchResult = Uint8Array | 'missing' | 'skipped'

export type FetchFault = 'fetch-failed' | 'fetch-missing'

/** What went wrong with a peer: `count` hashes were affected; `cause` is the request's error, if it failed. */
export interface FaultReport {
  kind: FetchFault
  detail: string
  count: number
  cause?: unknown
}

export interface FetcherInit {
  /** Sends one request and resolves with one result per hash; rejects on error or when `signal` aborts. */
  request: (peer: string, hashes: string[], signal: AbortSignal) => Promise<FetchResult[]>
  /**
   * Hands over a body. Resolve 'retry' if it is not the body of `hash` (the
   * peer lied: try another source), else 'done' whatever the verdict.
   */
  deliver: (hash: string, body: Uint8Array, from: string) => Promise<'done' | 'retry'>
  /** Every source failed, or the hash was dropped. */
  giveUp?: (hash: string, reason: string) => void
  /** A peer misbehaved; penalizing it is the owner's call. */
  fault?: (peer: string, report: FaultReport) => void
  config?: Partial<FetcherConfig>
}

type State = 'waiting' | 'fetching' | 'delivering'

interface Entry {
  hash: string
  size: number
  sources: string[]
  /** sources that never claimed to have it (see `want`) */
  probes: Set<string>
  tried: Set<string>
  state: State
  peer: string | undefined
  waiters: Array<(fetched: boolean) => void>
}

interface PeerState {
  /** hashes waiting on this peer, in arrival order */
  queue: Set<string>
  queuedBytes: number
  busy: boolean
  scheduled: boolean
}

export interface FetcherStats {
  tracked: number
  waiting: number
  fetching: number
  requests: number
  bodies: number
  retries: number
  givenUp: number
  dropped: number
}

export class FetchScheduler {
  readonly config: Readonly<FetcherConfig>
  private readonly init: FetcherInit
  private readonly entries = new Map<string, Entry>()
  private readonly peers = new Map<string, PeerState>()
  private readonly stopController = new AbortController()
  /** deadlines of the requests in flight, aborted by `stop` */
  private readonly inFlight = new Set<Deadline>()
  private readonly counters = { requests: 0, bodies: 0, retries: 0, givenUp: 0, dropped: 0 }

  constructor (init: FetcherInit) {
    this.init = init
    this.config = Object.freeze({ ...DEFAULT_FETCHER_CONFIG, ...init.config })
  }

  /**
   * `sources` announced `hash` (of `size` bytes). Returns false if it was
   * dropped because a cap was reached.
   *
   * `probes` are peers asked on a hunch (an on-demand lookup of a hash nobody
   * announced to us): they are tried after the sources, and a probe that does
   * not have the body is not at fault — otherwise anyone able to make this
   * node look up random hashes could get its honest peers penalized.
   */
  want (hash: string, size: number, sources: string[], probes: string[] = []): boolean {
    if (this.stopController.signal.aborted) return false
    const existing = this.entries.get(hash)
    if (existing !== undefined) {
      for (const s of sources) this.addSource(existing, s)
      return true
    }
    if (this.entries.size >= this.config.maxTracked) {
      this.counters.dropped++
      return false
    }
    const entry: Entry = { hash, size, sources: [], probes: new Set(), tried: new Set(), state: 'waiting', peer: undefined, waiters: [] }
    for (const s of sources) if (entry.sources.length < this.config.maxSourcesPerHash && !entry.sources.includes(s)) entry.sources.push(s)
    for (const p of probes) {
      if (entry.sources.length >= this.config.maxSourcesPerHash || entry.sources.includes(p)) continue
      entry.sources.push(p)
      entry.probes.add(p)
    }
    this.entries.set(hash, entry)
    this.assign(entry)
    return this.entries.has(hash)
  }

  isTracked (hash: string): boolean {
    return this.entries.has(hash)
  }

  /** Resolves true once the body was delivered, false if every source failed. */
  async whenDone (hash: string): Promise<boolean> {
    const entry = this.entries.get(hash)
    if (entry === undefined) return false
    return await new Promise(resolve => entry.waiters.push(resolve))
  }

  /** Stops tracking `hash` (it arrived some other way). A request already in flight still completes. */
  forget (hash: string): void {
    const entry = this.entries.get(hash)
    if (entry === undefined || entry.state !== 'waiting') return
    this.unqueue(entry)
    this.finish(entry, false)
  }

  /** A peer disconnected: what waited on it moves to other sources. */
  peerGone (peer: string): void {
    const state = this.peers.get(peer)
    if (state === undefined) return
    for (const hash of [...state.queue]) {
      const entry = this.entries.get(hash)
      if (entry === undefined) continue
      this.unqueue(entry)
      entry.tried.add(peer)
      this.assign(entry)
    }
    if (!state.busy) this.peers.delete(peer)
  }

  stats (): FetcherStats {
    let waiting = 0
    let fetching = 0
    for (const e of this.entries.values()) {
      if (e.state === 'waiting') waiting++
      else fetching++
    }
    return { tracked: this.entries.size, waiting, fetching, ...this.counters }
  }

  stop (): void {
    this.stopController.abort()
    for (const d of this.inFlight) d.abort(new DOMException('fetcher stopped', 'AbortError'))
    this.inFlight.clear()
    for (const entry of [...this.entries.values()]) this.finish(entry, false)
    this.peers.clear()
  }

  private addSource (entry: Entry, source: string): void {
    if (entry.tried.has(source) || entry.sources.includes(source) || entry.sources.length >= this.config.maxSourcesPerHash) return
    entry.sources.push(source)
    // waiting behind a busy peer while an idle one has it: move
    if (entry.state === 'waiting' && entry.peer !== undefined && this.peers.get(entry.peer)?.busy === true && this.peers.get(source)?.busy !== true) {
      this.unqueue(entry)
      this.assign(entry)
    }
  }

  /** Queues a waiting entry on its least loaded untried source, or gives it up. */
  private assign (entry: Entry): void {
    let best: string | undefined
    let bestLoad = Infinity
    for (const s of entry.sources) {
      if (entry.tried.has(s)) continue
      const p = this.peers.get(s)
      const load = p === undefined ? 0 : (p.busy ? this.config.maxBytesPerRequest : 0) + p.queuedBytes
      if (p !== undefined && p.queue.size >= this.config.maxQueuedPerPeer) continue
      if (load < bestLoad) {
        best = s
        bestLoad = load
      }
    }
    if (best === undefined) {
      // Every untried source already has maxQueuedPerPeer hashes waiting: we are
      // the bottleneck, not they, so the hash is dropped without blaming anyone
      // (a peer that floods announcements trips the announcement quota instead).
      const overloaded = entry.sources.some(s => !entry.tried.has(s))
      this.counters.givenUp++
      this.init.giveUp?.(entry.hash, overloaded ? 'sources overloaded' : 'no source had it')
      this.finish(entry, false)
      return
    }
    let state = this.peers.get(best)
    if (state === undefined) {
      state = { queue: new Set(), queuedBytes: 0, busy: false, scheduled: false }
      this.peers.set(best, state)
    }
    entry.peer = best
    entry.state = 'waiting'
    state.queue.add(entry.hash)
    state.queuedBytes += entry.size
    this.schedule(best, state)
  }

  private unqueue (entry: Entry): void {
    if (entry.peer === undefined) return
    const state = this.peers.get(entry.peer)
    if (state?.queue.delete(entry.hash) === true) state.queuedBytes -= entry.size
    entry.peer = undefined
  }

  /**
   * Dispatches on a microtask: every announcement handled in the same
   * synchronous burst (one gossip RPC carries several) joins the batch, and no
   * timer adds latency (a timer costs ≥ 1 ms per hop, 4 ms in a browser).
   */
  private schedule (peer: string, state: PeerState): void {
    if (state.busy || state.scheduled) return
    state.scheduled = true
    queueMicrotask(() => {
      state.scheduled = false
      void this.dispatch(peer, state)
    })
  }

  private async dispatch (peer: string, state: PeerState): Promise<void> {
    if (state.busy || state.queue.size === 0 || this.stopController.signal.aborted) return
    const batch: Entry[] = []
    let bytes = 0
    for (const hash of state.queue) {
      const entry = this.entries.get(hash)
      if (entry === undefined) {
        state.queue.delete(hash)
        continue
      }
      if (batch.length > 0 && (batch.length >= this.config.maxHashesPerRequest || bytes + entry.size > this.config.maxBytesPerRequest)) break
      batch.push(entry)
      bytes += entry.size
    }
    for (const entry of batch) {
      state.queue.delete(entry.hash)
      state.queuedBytes -= entry.size
      entry.state = 'fetching'
      entry.tried.add(peer)
    }
    state.busy = true
    this.counters.requests++
    const timeoutMs = this.config.requestTimeoutMs + Math.ceil(bytes / this.config.minBytesPerSecond * 1000)
    const limit = deadline(timeoutMs, 'no answer')
    this.inFlight.add(limit)
    let results: FetchResult[] | undefined
    let failure = ''
    let cause: unknown
    try {
      results = await this.init.request(peer, batch.map(e => e.hash), limit.signal)
      if (results.length !== batch.length) {
        failure = `answered ${results.length} of ${batch.length} hashes`
        results = undefined
      }
    } catch (err) {
      cause = err
      failure = (err as Error).message ?? String(err)
    } finally {
      limit.clear()
      this.inFlight.delete(limit)
    }
    state.busy = false
    if (this.stopController.signal.aborted) return

    if (results === undefined) {
      this.init.fault?.(peer, { kind: 'fetch-failed', detail: failure, count: batch.length, cause })
      for (const entry of batch) this.retry(entry)
    } else {
      let missing = 0
      results.forEach((result, i) => {
        const entry = batch[i]!
        if (result === 'skipped') {
          entry.tried.delete(peer)
          this.retry(entry)
        } else if (result === 'missing') {
          if (!entry.probes.has(peer)) missing++
          this.retry(entry)
        } else {
          void this.deliver(entry, result, peer)
        }
      })
      if (missing > 0) this.init.fault?.(peer, { kind: 'fetch-missing', detail: `${missing} announced bodies missing`, count: missing })
    }
    if (state.queue.size > 0) this.schedule(peer, state)
    else if (!this.peerHasWork(peer)) this.peers.delete(peer)
  }

  private peerHasWork (peer: string): boolean {
    const state = this.peers.get(peer)
    return state !== undefined && (state.busy || state.queue.size > 0)
  }

  private async deliver (entry: Entry, body: Uint8Array, from: string): Promise<void> {
    entry.state = 'delivering'
    let verdict: 'done' | 'retry'
    try {
      verdict = await this.init.deliver(entry.hash, body, from)
    } catch {
      verdict = 'done'
    }
    if (verdict === 'retry') {
      this.counters.retries++
      this.retry(entry)
      return
    }
    this.counters.bodies++
    this.finish(entry, true)
  }

  private retry (entry: Entry): void {
    if (!this.entries.has(entry.hash)) return
    entry.peer = undefined
    entry.state = 'waiting'
    this.assign(entry)
  }

  private finish (entry: Entry, fetched: boolean): void {
    this.entries.delete(entry.hash)
    for (const resolve of entry.waiters) resolve(fetched)
    entry.waiters = []
  }
}

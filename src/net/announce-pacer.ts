/**
 * Paces the announcements this node originates (txs from its users, or ones
 * it fetched by sync or on demand) below what peers accept from one relay
 * (their announcement quota, default 1000/s). After syncing a large pool a
 * node would otherwise announce thousands of txs at once and be penalized
 * by its neighbours for it.
 */
export interface AnnouncePacerConfig {
  /** Announcements published per second at most. Default 400. */
  perSecond: number
  /** Announcements waiting at most; past it the oldest are dropped (peers get those txs by sync). Default 20 000. */
  maxQueued: number
}

const DEFAULT_ANNOUNCE_PACER_CONFIG: Readonly<AnnouncePacerConfig> = Object.freeze({ perSecond: 400, maxQueued: 20_000 })

export class AnnouncePacer {
  readonly config: Readonly<AnnouncePacerConfig>
  private readonly publish: (data: Uint8Array) => Promise<void>
  private readonly queue: Uint8Array[] = []
  private tokens: number
  private lastRefill = Date.now()
  private timer: ReturnType<typeof setTimeout> | undefined
  private stopped = false
  dropped = 0

  constructor (publish: (data: Uint8Array) => Promise<void>, config: Partial<AnnouncePacerConfig> = {}) {
    this.publish = publish
    this.config = Object.freeze({ ...DEFAULT_ANNOUNCE_PACER_CONFIG, ...config })
    this.tokens = this.config.perSecond
  }

  get queued (): number { return this.queue.length }

  /** Publishes now if within the rate, else queues it. */
  enqueue (data: Uint8Array): void {
    if (this.stopped) return
    this.queue.push(data)
    if (this.queue.length > this.config.maxQueued) {
      this.queue.shift()
      this.dropped++
    }
    this.drain()
  }

  stop (): void {
    this.stopped = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.queue.length = 0
  }

  private drain (): void {
    const now = Date.now()
    this.tokens = Math.min(this.config.perSecond, this.tokens + (now - this.lastRefill) * this.config.perSecond / 1000)
    this.lastRefill = now
    while (this.queue.length > 0 && this.tokens >= 1) {
      this.tokens--
      // a failed publish (no peer on the topic yet, the node stopping) is not
      // retried: a peer that comes later gets the tx by sync when it connects
      void this.publish(this.queue.shift()!).catch(() => {})
    }
    if (this.queue.length > 0 && this.timer === undefined && !this.stopped) {
      this.timer = setTimeout(() => {
        this.timer = undefined
        this.drain()
      }, Math.ceil(1000 / this.config.perSecond))
    }
  }
}

/**
 * Subscriptions to pool events, fanned out to WebSocket clients. The hub
 * listens to the pool once, serializes each event's result once, and sends
 * it to every subscription of that kind:
 *
 *   {"jsonrpc":"2.0","method":"pool_subscription","params":{"subscription":id,"result":…}}
 *
 *   newTxs      result: the tx summary, as in pool_getPendingTxs (on the pool's
 *               'added' event: the tx is in the pool; its store write may still
 *               be in flight, and if it fails a droppedTxs "store-failed" follows)
 *   droppedTxs  result: { hash, reason, by? } for every tx leaving the pool,
 *               mined ones included (reason as in pool_getTxStatus)
 */
import type { TxPool } from '../../src/index.ts'
import { LIMIT_EXCEEDED, RpcError } from './errors.ts'
import { prefixed, txSummary } from './format.ts'

export const SUBSCRIPTION_KINDS = ['newTxs', 'droppedTxs'] as const
export type SubscriptionKind = typeof SUBSCRIPTION_KINDS[number]

/** Where a subscription's notifications go: one per WebSocket. */
export interface NotificationSink {
  send: (text: string) => void
}

export class SubscriptionHub {
  private readonly maxPerSink: number
  private readonly bySink = new Map<NotificationSink, Map<string, SubscriptionKind>>()
  private readonly byKind = new Map<SubscriptionKind, Map<string, NotificationSink>>(SUBSCRIPTION_KINDS.map(k => [k, new Map()]))
  private readonly stopListening: Array<() => void>

  constructor (pool: Pick<TxPool, 'events'>, maxPerSink: number) {
    this.maxPerSink = maxPerSink
    this.stopListening = [
      pool.events.on('added', ({ tx }) => {
        if (this.byKind.get('newTxs')!.size > 0) this.notify('newTxs', JSON.stringify(txSummary(tx)))
      }),
      pool.events.on('removed', ({ tx, reason, by }) => {
        if (this.byKind.get('droppedTxs')!.size === 0) return
        const result = by === undefined ? { hash: prefixed(tx.hash), reason } : { hash: prefixed(tx.hash), reason, by: prefixed(by) }
        this.notify('droppedTxs', JSON.stringify(result))
      })
    ]
  }

  /** Subscriptions open across all sinks. */
  get size (): number {
    let n = 0
    for (const subs of this.bySink.values()) n += subs.size
    return n
  }

  /** Starts a subscription; returns its id. Throws -32006 past the per-socket limit. */
  subscribe (sink: NotificationSink, kind: SubscriptionKind): string {
    let subs = this.bySink.get(sink)
    if (subs === undefined) {
      subs = new Map()
      this.bySink.set(sink, subs)
    }
    if (subs.size >= this.maxPerSink) {
      throw new RpcError(LIMIT_EXCEEDED, `too many subscriptions: at most ${this.maxPerSink} per connection`)
    }
    const id = newId()
    subs.set(id, kind)
    this.byKind.get(kind)!.set(id, sink)
    return id
  }

  /** Ends one of `sink`'s subscriptions; false if it has none by that id. */
  unsubscribe (sink: NotificationSink, id: string): boolean {
    const subs = this.bySink.get(sink)
    const kind = subs?.get(id)
    if (subs === undefined || kind === undefined) return false
    subs.delete(id)
    this.byKind.get(kind)!.delete(id)
    if (subs.size === 0) this.bySink.delete(sink)
    return true
  }

  /** Ends every subscription of a sink (its socket closed). */
  removeSink (sink: NotificationSink): void {
    for (const id of [...this.bySink.get(sink)?.keys() ?? []]) this.unsubscribe(sink, id)
  }

  close (): void {
    for (const u of this.stopListening.splice(0)) u()
    this.bySink.clear()
    for (const subs of this.byKind.values()) subs.clear()
  }

  private notify (kind: SubscriptionKind, resultJson: string): void {
    // a sink may drop itself (slow client) while we iterate: iterate a copy
    for (const [id, sink] of [...this.byKind.get(kind)!]) {
      sink.send(`{"jsonrpc":"2.0","method":"pool_subscription","params":{"subscription":"${id}","result":${resultJson}}}`)
    }
  }
}

function newId (): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  let hex = '0x'
  for (const b of bytes) hex += b.toString(16).padStart(2, '0')
  return hex
}

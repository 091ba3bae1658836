import { lpStream } from '@libp2p/utils'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { TxLimits } from '../tx/limits.ts'
import { decodeSyncPage, decodeSyncRequest, encodeSyncPage, encodeSyncRequest, maxSyncPageBytes, type SyncPage, type SyncRequest } from './messages.ts'

/**
 * The sync protocol: a peer that connects asks for the pending pool's
 * metadata, a page at a time, best first, and fetches what it lacks.
 *
 *   → SyncRequest (limit, cursor)   ← SyncPage (entries, next cursor)
 *
 * One page per stream keeps each exchange short and lets the server's quota
 * count pages.
 */
export interface SyncConfig {
  /** Entries per page, both the most a server sends and what a client asks for. Default 256. */
  pageSize: number
  /** Most pages a client reads from one peer per connection. Default 64 (16k txs). */
  maxPagesPerPeer: number
  /** Syncs with different peers run at once. Default 2. */
  concurrency: number
  /** Per page, time to answer. Default 10 s. */
  timeoutMs: number
  /** Least time between two page requests to one peer: 125 ms (8/s, under the servers' default quota of 100 per 10 s). */
  minPageIntervalMs: number
}

export const DEFAULT_SYNC_CONFIG: Readonly<SyncConfig> = Object.freeze({
  pageSize: 256,
  maxPagesPerPeer: 64,
  concurrency: 2,
  timeoutMs: 10_000,
  minPageIntervalMs: 125
})

export interface SyncServeHooks {
  list: (request: SyncRequest) => SyncPage
  admitRequest: (peer: string) => boolean
  violation: (peer: string, err: unknown) => void
}

export function syncHandler (config: SyncConfig, hooks: SyncServeHooks) {
  return async (stream: Stream, connection: Connection): Promise<void> => {
    const peer = connection.remotePeer.toString()
    const lp = lpStream(stream, { maxDataLength: 128 })
    try {
      const request = decodeSyncRequest((await lp.read({ signal: AbortSignal.timeout(config.timeoutMs) })).subarray())
      if (!hooks.admitRequest(peer)) {
        stream.abort(new Error('sync quota exceeded'))
        return
      }
      const page = hooks.list({ ...request, limit: Math.min(request.limit, config.pageSize) })
      await lp.write(encodeSyncPage(page))
      await stream.close()
    } catch (err) {
      hooks.violation(peer, err)
      stream.abort(err as Error)
    }
  }
}

export async function requestSyncPage (
  connectionManager: ConnectionManager, peer: PeerId, protocol: string,
  request: SyncRequest, limits: TxLimits, signal: AbortSignal
): Promise<SyncPage> {
  const stream = await connectionManager.openStream(peer, protocol, { signal })
  try {
    const lp = lpStream(stream, { maxDataLength: maxSyncPageBytes(request.limit, limits) })
    await lp.write(encodeSyncRequest(request), { signal })
    const page = decodeSyncPage((await lp.read({ signal })).subarray(), request.limit, limits)
    await stream.close({ signal })
    return page
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

import { lpStream } from '@libp2p/utils'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import {
  decodeFetchItem, decodeFetchRequest, encodeFetchItem, encodeFetchRequest,
  FETCH_MISSING, FETCH_SKIPPED, FETCH_FOUND, type FetchItem, type ObjectKind
} from './messages.ts'
import type { FetchResult } from './fetcher.ts'

/**
 * The fetch protocol: bodies by hash.
 *
 *   → one frame: FetchRequest (kind, up to maxHashesPerRequest hashes)
 *   ← one frame per hash, in order: found + body | missing | skipped
 *
 * The server stops adding bodies once the response reaches its byte budget
 * and answers "skipped" for the rest, which the client asks for again.
 */
export interface FetchServeConfig {
  /** Most hashes a request may name. Default 64. */
  maxHashesPerRequest: number
  /** Body bytes in one response; past it the rest is "skipped". Default 1 MiB. */
  maxResponseBytes: number
  /** Time a peer has to send its request. Default 5 s. */
  requestReadTimeoutMs: number
  /** Concurrent fetch streams per connection, each way (clients keep one in flight). Default 2. */
  maxStreamsPerConnection: number
}

export const DEFAULT_FETCH_SERVE_CONFIG: Readonly<FetchServeConfig> = Object.freeze({
  maxHashesPerRequest: 64,
  maxResponseBytes: 1024 * 1024,
  requestReadTimeoutMs: 5_000,
  maxStreamsPerConnection: 2
})

export type BodyProvider = (kind: ObjectKind, hash: string) => Promise<Uint8Array | undefined>

export interface FetchServeHooks {
  /** May this peer make a request now? (quota) */
  admitRequest: (peer: string) => boolean
  /** Bytes just served to a peer (for its byte quota). */
  served: (peer: string, bytes: number) => void
  /** The peer broke the protocol; `err` says how. */
  violation: (peer: string, err: unknown) => void
}

export function fetchHandler (config: FetchServeConfig, provide: BodyProvider, hooks: FetchServeHooks) {
  return async (stream: Stream, connection: Connection): Promise<void> => {
    const peer = connection.remotePeer.toString()
    const lp = lpStream(stream, { maxDataLength: 4 + 32 * config.maxHashesPerRequest })
    try {
      const frame = await lp.read({ signal: AbortSignal.timeout(config.requestReadTimeoutMs) })
      const request = decodeFetchRequest(frame.subarray(), config.maxHashesPerRequest)
      if (!hooks.admitRequest(peer)) {
        stream.abort(new Error('fetch quota exceeded'))
        return
      }
      const frames: Uint8Array[] = []
      let budget = config.maxResponseBytes
      let sent = 0
      for (const hash of request.hashes) {
        let item: FetchItem = { status: FETCH_SKIPPED }
        if (budget > 0) {
          const body = await provide(request.kind, hash)
          if (body === undefined) item = { status: FETCH_MISSING }
          else if (body.byteLength <= budget || sent === 0) {
            item = { status: FETCH_FOUND, body }
            budget -= body.byteLength
            sent += body.byteLength
          }
        }
        frames.push(encodeFetchItem(item))
      }
      await lp.writeV(frames)
      hooks.served(peer, sent)
      await stream.close()
    } catch (err) {
      hooks.violation(peer, err)
      stream.abort(err as Error)
    }
  }
}

/** Asks `peer` for bodies; one result per hash, in order. Throws on transport or protocol errors. */
export async function requestBodies (
  connectionManager: ConnectionManager, peer: PeerId, protocol: string,
  kind: ObjectKind, hashes: string[], maxBodyBytes: number, signal: AbortSignal
): Promise<FetchResult[]> {
  const stream = await connectionManager.openStream(peer, protocol, { signal })
  try {
    const lp = lpStream(stream, { maxDataLength: maxBodyBytes + 1 })
    await lp.write(encodeFetchRequest({ kind, hashes }), { signal })
    const results: FetchResult[] = []
    for (let i = 0; i < hashes.length; i++) {
      const item = decodeFetchItem((await lp.read({ signal })).subarray(), maxBodyBytes)
      results.push(item.status === FETCH_FOUND ? item.body : item.status === FETCH_MISSING ? 'missing' : 'skipped')
    }
    await stream.close({ signal })
    return results
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

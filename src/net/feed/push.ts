import { lpStream, RateLimiter } from '@libp2p/utils'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Connection, Startable, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { ByteReader, ByteWriter, DecodeError } from '../../codec/bytes.ts'
import { fromHex, toHex } from '../../tx/hex.ts'
import type { SubmitResult } from '../../validation/intake.ts'
import type { Rule } from '../../tx/refusals.ts'
import { WIRE_VERSION } from '../messages.ts'

/**
 * Lightpush (`/lightpool/<network>/push/1`), after js-waku's protocol of the
 * name: a light node hands its own tx to a full node by request, and that
 * node runs its normal intake (validate, store durably, announce) before it
 * answers. So a tab closed right after "submit" loses nothing, and the user
 * hears "added" or the rule that refused it from a node that keeps it.
 *
 *   → tx bytes        ← u8 status (added|ignored|rejected) | 32 B hash or none | rule | message
 *
 * One request per stream.
 */
export interface PushServerConfig {
  /** Pushes one peer may make per second; the excess is refused ("rate-limited"). Default 20. */
  pushesPerSecond: number
  /** Time to send the tx once the stream is open. Default 10 s. */
  readTimeoutMs: number
}

export const DEFAULT_PUSH_SERVER_CONFIG: Readonly<PushServerConfig> = Object.freeze({
  pushesPerSecond: 20,
  readTimeoutMs: 10_000
})

/** The push answer; `rule` names the refusal ("rate-limited" when over the quota). */
export type PushResult =
  | { status: 'added', hash: string }
  | { status: 'ignored' | 'rejected', hash?: string, rule: Rule | 'rate-limited' | 'store-failed', message: string }

const STATUS = ['added', 'ignored', 'rejected'] as const
const MAX_MESSAGE_BYTES = 512
const textEncoder = new TextEncoder()

export function encodePushResult (result: PushResult): Uint8Array {
  const w = new ByteWriter(64).u8(WIRE_VERSION).u8(STATUS.indexOf(result.status))
  if (result.hash === undefined) w.u8(0)
  else w.u8(1).bytes(fromHex(result.hash))
  const rule = textEncoder.encode(result.status === 'added' ? '' : result.rule)
  const message = textEncoder.encode(result.status === 'added' ? '' : result.message).subarray(0, MAX_MESSAGE_BYTES)
  return w.u8(rule.byteLength).bytes(rule).u16(message.byteLength).bytes(message).finish()
}

export function decodePushResult (bytes: Uint8Array): PushResult {
  const r = new ByteReader(bytes)
  const v = r.u8('push.version')
  if (v !== WIRE_VERSION) throw new DecodeError('push.version', `unsupported version ${v}`)
  const status = STATUS[r.u8('push.status')]
  if (status === undefined) throw new DecodeError('push.status', 'unknown status')
  const hasHash = r.u8('push.hasHash')
  if (hasHash > 1) throw new DecodeError('push.hasHash', 'not a flag')
  const hash = hasHash === 1 ? toHex(r.bytes(32, 'push.hash')) : undefined
  const rule = r.utf8(r.u8('push.rule'), 'push.rule')
  const messageLength = r.u16('push.message')
  if (messageLength > MAX_MESSAGE_BYTES) throw new DecodeError('push.message', 'too long')
  const message = r.utf8(messageLength, 'push.message')
  r.end('push')
  if (status === 'added') {
    if (hash === undefined) throw new DecodeError('push.hash', 'an added tx names its hash')
    return { status, hash }
  }
  return hash === undefined ? { status, rule: rule as Rule, message } : { status, hash, rule: rule as Rule, message }
}

/** Largest push answer on the wire. */
const MAX_RESULT_BYTES = 2 + 33 + 256 + 2 + MAX_MESSAGE_BYTES

export interface PushServerInit {
  protocol: string
  /** Largest tx accepted (the envelope limits' maxTxBytes). */
  maxTxBytes: number
  /** The node's own intake: validate, store durably, announce. */
  submit: (bytes: Uint8Array) => Promise<SubmitResult>
  config?: Partial<PushServerConfig>
  runOnLimitedConnection?: boolean
  penalize?: (peer: string, detail: string) => void
}

export interface PushServerStats {
  pushes: number
  added: number
  refused: number
  rateLimited: number
}

export class PushServer implements Startable {
  readonly config: Readonly<PushServerConfig>
  private readonly registrar: Registrar
  private readonly init: PushServerInit
  private readonly limiter: RateLimiter
  private readonly counters: PushServerStats = { pushes: 0, added: 0, refused: 0, rateLimited: 0 }

  constructor (components: { registrar: Registrar }, init: PushServerInit) {
    this.registrar = components.registrar
    this.init = init
    this.config = Object.freeze({ ...DEFAULT_PUSH_SERVER_CONFIG, ...init.config })
    this.limiter = new RateLimiter({ points: this.config.pushesPerSecond, duration: 1 })
  }

  readonly [Symbol.toStringTag] = 'lightpool-push-server'

  async start (): Promise<void> {
    await this.registrar.handle(this.init.protocol, (stream: Stream, connection: Connection) => { void this.serve(stream, connection) }, {
      maxInboundStreams: 8,
      runOnLimitedConnection: this.init.runOnLimitedConnection ?? false
    })
  }

  async stop (): Promise<void> {
    await this.registrar.unhandle(this.init.protocol)
  }

  stats (): PushServerStats { return { ...this.counters } }

  private withinRate (peer: string): boolean {
    try {
      this.limiter.consume(peer, 1)
      return true
    } catch {
      return false
    }
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const lp = lpStream(stream, { maxDataLength: this.init.maxTxBytes })
    try {
      const bytes = (await lp.read({ signal: AbortSignal.timeout(this.config.readTimeoutMs) })).subarray()
      this.counters.pushes++
      let result: PushResult
      if (!this.withinRate(peer)) {
        this.counters.rateLimited++
        result = { status: 'ignored', rule: 'rate-limited', message: `more than ${this.config.pushesPerSecond} pushes per second` }
      } else {
        try {
          result = toPushResult(await this.init.submit(bytes))
        } catch (err) {
          // our store failed: not the pusher's fault, and nothing was acknowledged
          result = { status: 'ignored', rule: 'store-failed', message: (err as Error).message }
        }
      }
      if (result.status === 'added') this.counters.added++
      else this.counters.refused++
      await lp.write(encodePushResult(result))
      await stream.close()
    } catch (err) {
      if ((err as Error).name !== 'TimeoutError') this.init.penalize?.(peer, `push: ${(err as Error).message}`)
      stream.abort(err as Error)
    }
  }
}

function toPushResult (r: SubmitResult): PushResult {
  if (r.status === 'added') return { status: 'added', hash: r.hash }
  return r.hash === undefined ? { status: r.status, rule: r.rule, message: r.message } : { status: r.status, hash: r.hash, rule: r.rule, message: r.message }
}

/** Pushes a tx to `peer` and waits for its answer. Throws if the peer cannot be reached or breaks the protocol. */
export async function pushTx (connectionManager: ConnectionManager, peer: string, protocol: string, bytes: Uint8Array, opts: { signal: AbortSignal, runOnLimitedConnection?: boolean }): Promise<PushResult> {
  const stream = await connectionManager.openStream(peerIdFromString(peer), protocol, { signal: opts.signal, runOnLimitedConnection: opts.runOnLimitedConnection ?? false })
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_RESULT_BYTES })
    await lp.write(bytes, { signal: opts.signal })
    const result = decodePushResult((await lp.read({ signal: opts.signal })).subarray())
    // the result is in hand: a close that fails (the relay already gone) changes nothing about it
    await stream.close({ signal: opts.signal }).catch(() => {})
    return result
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

/** The libp2p service factory: `services: { push: pushServer(init) }`. */
export function pushServer (init: PushServerInit): (components: { registrar: Registrar }) => PushServer {
  return (components) => new PushServer(components, init)
}

import { yamux, type YamuxMuxerInit } from '@chainsafe/libp2p-yamux'
import { StreamState, type YamuxStream } from '@chainsafe/libp2p-yamux/stream'
import type { AbortOptions, Connection, MessageStream, StreamMuxer, StreamMuxerFactory } from '@libp2p/interface'

/**
 * yamux, with window updates sent the way go-yamux and rust-yamux send them:
 * once half of a stream's receive window has been consumed, not after every
 * data frame.
 *
 * Why: js-yamux 8 answers every data frame it receives with a 12-byte window
 * update frame. lightpool's traffic is mostly small frames (announcements,
 * fetch requests), so that doubles the frames on the wire, and each frame
 * costs a noise encryption, a socket write and a trip through the event loop
 * on both ends: measured in the propagation benchmark as ~57% of all frames a
 * full node sends. The yamux spec leaves the timing of window updates to the
 * receiver; a sender still always has at least half a window (128 KiB by
 * default) of credit, so no stream waits for an update it would otherwise
 * have had.
 *
 * How: each stream's `sendWindowUpdate` is wrapped so it defers to yamux's own
 * (which also opens streams with SYN/ACK and grows the window) only when the
 * stream is opening, paused/resuming, or below half its window. It reads two
 * of the stream's private fields; `test/net/muxer.test.ts` fails if a yamux
 * upgrade renames them (frames would then be counted again) or if flow control
 * stalls.
 */
export function muxer (init: YamuxMuxerInit = {}, options: Partial<MuxerOptions> = {}): () => StreamMuxerFactory {
  const stock = yamux(init)
  const { transportGraceMs } = { ...DEFAULT_MUXER_OPTIONS, ...options }
  if (!Number.isInteger(transportGraceMs) || transportGraceMs < 0) throw new RangeError(`muxer transportGraceMs must be a non-negative integer, got ${transportGraceMs}`)
  return () => {
    const factory = stock()
    const createStreamMuxer = factory.createStreamMuxer.bind(factory)
    factory.createStreamMuxer = (maConn) => {
      const m = createStreamMuxer(maConn)
      closeTransportWithMuxer(m, maConn, transportGraceMs)
      if (typeof (m as Partial<Pingable>).ping === 'function') pingable.add(m)
      // every stream, inbound or outbound, is made by this private method
      const internals = m as unknown as { _newStream?: (...args: unknown[]) => YamuxStream }
      if (typeof internals._newStream !== 'function') return m // a yamux without it: stock behaviour
      const newStream = internals._newStream.bind(m)
      internals._newStream = (...args) => lazyWindowUpdates(newStream(...args))
      return m
    }
    return factory
  }
}

export interface MuxerOptions {
  /**
   * How long a connection's transport (its socket) may stay open after its
   * muxer has closed, before it is aborted. Default 2 000 ms. See
   * closeTransportWithMuxer.
   */
  transportGraceMs: number
}

export const DEFAULT_MUXER_OPTIONS: Readonly<MuxerOptions> = Object.freeze({
  transportGraceMs: 2_000
})

/**
 * Ends the transport under a muxer that has closed.
 *
 * Why: libp2p 3's Connection closes its socket only through its own close()
 * or abort(). When the muxer closes by any other way (the peer's GoAway; a
 * close() whose streams did not finish within the close timeout, which then
 * throws before the socket is closed), the socket stays open, the connection
 * stays listed as "open", and every newStream on it fails with "The
 * connection muxer is closed". Seen in test/browser/many-tabs.test.ts on a
 * busy machine: tabs redialled their relay while the old sockets stayed
 * established on both ends, 20 tabs held 61 sockets on the relay's WebSocket
 * port, and at --p2p-max-connections-per-address (64) the relay refused every
 * tab behind that address (every WebSocket reset at once, for minutes).
 *
 * How: after the muxer's close, abort or handling of a GoAway, once it is no
 * longer open, the transport gets `graceMs` to close the ordinary way (a
 * peer that sent GoAway closes its end itself; Connection.close closes it
 * next); a transport still open then is aborted. Reads yamux's `handleGoAway`
 * (a method its types call private); test/net/muxer.test.ts fails if it is
 * renamed.
 */
function closeTransportWithMuxer (m: StreamMuxer, maConn: MessageStream, graceMs: number): void {
  const settle = (): void => {
    if (m.status === 'open' || maConn.status !== 'open') return
    setTimeout(() => {
      if (maConn.status === 'open') maConn.abort(new Error('its muxer closed and the transport did not'))
    }, graceMs)
  }
  const abort = m.abort.bind(m)
  m.abort = (err) => { abort(err); settle() }
  const close = m.close.bind(m)
  m.close = async (options) => { try { await close(options) } finally { settle() } }
  const internals = m as unknown as { handleGoAway?: (reason: number) => void }
  if (typeof internals.handleGoAway === 'function') {
    const handleGoAway = internals.handleGoAway.bind(m)
    internals.handleGoAway = (reason) => { handleGoAway(reason); settle() }
  }
}

/** The receive-window bookkeeping yamux keeps private on each stream. */
interface ReceiveWindow {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
}

function lazyWindowUpdates (stream: YamuxStream): YamuxStream {
  const sendWindowUpdate = stream.sendWindowUpdate.bind(stream)
  const receive = stream as unknown as ReceiveWindow
  if (typeof receive.recvWindow !== 'number' || typeof receive.recvWindowCapacity !== 'number') {
    // a yamux that no longer keeps these fields: leave its own behaviour alone
    return stream
  }
  stream.sendWindowUpdate = () => {
    // opening (SYN/ACK to send) and paused streams keep yamux's own handling
    const opening = receive.state === StreamState.Init || receive.state === StreamState.SYNReceived
    if (!opening && receive.state !== StreamState.Paused && receive.recvWindowCapacity * 2 > receive.recvWindow) return
    sendWindowUpdate()
  }
  return stream
}

/** What a yamux muxer offers beyond StreamMuxer: a PING frame and its answer. */
interface Pingable {
  ping: (options?: AbortOptions) => Promise<number>
}

/** The muxers this factory made: only these are known to answer `ping` with a yamux PING. */
const pingable = new WeakSet<StreamMuxer>()

/**
 * A ping of `conn` by a yamux PING frame (the muxer's own, answered by the
 * peer's yamux without a stream), resolving to the round trip in ms; or
 * undefined when the connection's muxer is not one of ours (WebRTC brings its
 * own, a test may use another): ping it by a stream then.
 *
 * Why: a /ipfs/ping stream costs a stream open and close (SYN, ACK, FIN both
 * ways), a multistream-select negotiation, and on both ends a peer-store
 * update that libp2p writes for every protocol stream (a durable LMDB commit
 * on a Node node); a PING frame is one frame each way. Measured with
 * bench:node-cost, 6 idle nodes of 5 peers each, pinged every 10 s: the ping
 * streams were ~0.75 % of a core per node, the PING frames ~0.1 %.
 *
 * How: libp2p keeps a connection's muxer in a field its types call private
 * (`Connection.muxer`); it is read here only, and `test/net/upkeep.test.ts`
 * fails if an upgrade renames it (liveness would then ping by streams again).
 */
export function muxerPing (conn: Connection): ((options?: AbortOptions) => Promise<number>) | undefined {
  const m = (conn as unknown as { muxer?: StreamMuxer }).muxer
  if (m === undefined || !pingable.has(m)) return undefined
  return async (options) => await (m as unknown as Pingable).ping(options)
}

import { yamux } from '@chainsafe/libp2p-yamux'
import type { Stream, StreamMuxer, StreamMuxerFactory } from '@libp2p/interface'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { afterEach, describe, expect, it } from 'vitest'
import { muxer } from '../../src/net/muxer.ts'

/**
 * The muxer's window updates, counted on the wire: a receiver of many small
 * messages must not answer each with a window update (what stock js-yamux
 * does), and flow control must still carry bulk data with a paused reader.
 */

const FRAME_HEADER = 12
const WINDOW_UPDATE = 1

/** Counts the yamux frames a connection sends, by type, parsing the bytes it writes. */
class FrameCounter {
  readonly byType = new Map<number, number>()
  private readonly buffer = new Uint8ArrayList()

  observe (bytes: Uint8Array | Uint8ArrayList): void {
    this.buffer.append(bytes)
    while (this.buffer.byteLength >= FRAME_HEADER) {
      const type = this.buffer.get(1)
      const length = this.buffer.getUint32(8)
      const frame = FRAME_HEADER + (type === 0 ? length : 0)
      if (this.buffer.byteLength < frame) return
      this.buffer.consume(frame)
      this.byType.set(type, (this.byType.get(type) ?? 0) + 1)
    }
  }

  count (type: number): number { return this.byType.get(type) ?? 0 }
}

interface Pair { dialer: StreamMuxer, listener: StreamMuxer, listenerFrames: FrameCounter, inbound: Promise<Stream> }

const open: StreamMuxer[] = []
afterEach(() => { for (const m of open.splice(0)) m.abort(new Error('test over')) })

function connect (factory: () => StreamMuxerFactory): Pair {
  const [outbound, inbound] = multiaddrConnectionPair()
  const listenerFrames = new FrameCounter()
  const send = inbound.send.bind(inbound)
  inbound.send = (data) => { listenerFrames.observe(data); return send(data) }
  const dialer = factory().createStreamMuxer(outbound)
  const listener = factory().createStreamMuxer(inbound)
  open.push(dialer, listener)
  const accepted = new Promise<Stream>(resolve => { listener.addEventListener('stream', evt => { resolve(evt.detail) }, { once: true }) })
  return { dialer, listener, listenerFrames, inbound: accepted }
}

/**
 * Sends `count` messages of `size` bytes and resolves when the reader has them
 * all, in order. `spaced` sends each in its own event-loop turn, as gossip
 * arrives; otherwise they coalesce into few large frames.
 */
async function transfer (pair: Pair, count: number, size: number, opts: { spaced?: boolean, reader?: (stream: Stream) => void } = {}): Promise<void> {
  const stream = await pair.dialer.createStream()
  const remote = await pair.inbound
  const total = count * size
  let received = 0
  let outOfOrder = false
  const done = new Promise<void>(resolve => {
    remote.addEventListener('message', (evt) => {
      const data = evt.data instanceof Uint8Array ? evt.data : evt.data.subarray()
      for (const byte of data) {
        if (byte !== Math.floor(received / size) % 251) outOfOrder = true
        received++
      }
      if (received === total) resolve()
    })
  })
  opts.reader?.(remote)
  for (let i = 0; i < count; i++) {
    if (!stream.send(new Uint8Array(size).fill(i % 251))) await stream.onDrain()
    if (opts.spaced === true) await new Promise(resolve => setImmediate(resolve))
  }
  await done
  expect(outOfOrder).toBe(false)
}

describe('muxer window updates', () => {
  it('a stream of small messages gets a window update per half window, not per message', async () => {
    const lazy = connect(muxer())
    await transfer(lazy, 2_000, 150, { spaced: true })
    // 300 kB through a 256 KiB window: an update each time half of it is used
    expect(lazy.listenerFrames.count(WINDOW_UPDATE)).toBeLessThanOrEqual(4)

    // the same traffic over stock js-yamux: one update per data frame (the cost avoided)
    const stock = connect(yamux())
    await transfer(stock, 2_000, 150, { spaced: true })
    expect(stock.listenerFrames.count(WINDOW_UPDATE)).toBeGreaterThan(1_000)
  })

  it('bulk data larger than the window arrives whole and in order', async () => {
    await transfer(connect(muxer()), 200, 40_000) // 8 MB: many windows' worth
  })

  it('a reader that pauses and resumes stalls nothing', async () => {
    await transfer(connect(muxer()), 100, 40_000, {
      reader: (remote) => {
        // stop reading at once, resume later: the sender must wait for credit, then finish
        remote.pause()
        setTimeout(() => { remote.resume() }, 200)
      }
    })
  })
})

import { createServer, connect, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { LinkEmulator } from '../helpers/link-emulator.ts'

/**
 * The bench's emulated network decides what the wide-area figures mean, so
 * its model is tested: a path is never faster than its latency, a link never
 * faster than its speed, bytes arrive whole and in order, and a node's links
 * are shared by all its connections. Only lower bounds on time are asserted:
 * the model forbids anything faster, while slower depends on the machine.
 */
describe('bench link emulator', () => {
  const cleanup: Array<() => Promise<void>> = []
  afterEach(async () => { for (const fn of cleanup.splice(0)) await fn() })

  /** A TCP server that records everything it receives, per connection. */
  async function sink (): Promise<{ port: number, received: (expected: number) => Promise<{ bytes: Uint8Array, at: number }> }> {
    const chunks: Buffer[] = []
    let total = 0
    let waiter: { expected: number, resolve: (r: { bytes: Uint8Array, at: number }) => void } | undefined
    const server: Server = createServer((socket: Socket) => {
      socket.on('data', (c: Buffer) => {
        chunks.push(c)
        total += c.byteLength
        if (waiter !== undefined && total >= waiter.expected) waiter.resolve({ bytes: Buffer.concat(chunks), at: performance.now() })
      })
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    cleanup.push(async () => { await new Promise(resolve => server.close(resolve)) })
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error('no address')
    return {
      port: address.port,
      received: async (expected) => await new Promise(resolve => {
        if (total >= expected) resolve({ bytes: Buffer.concat(chunks), at: performance.now() })
        else waiter = { expected, resolve }
      })
    }
  }

  async function dial (port: number): Promise<Socket> {
    const socket = connect({ host: '127.0.0.1', port })
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
    cleanup.unshift(async () => { socket.destroy() })
    return socket
  }

  async function emulator (latencyMs: number, mbit: number): Promise<LinkEmulator> {
    const e = await LinkEmulator.start({ latencyMs, mbit })
    cleanup.push(async () => { await e.stop() })
    return e
  }

  const tcpPort = (addr: string): number => Number(multiaddr(addr).getComponents().find(c => c.name === 'tcp')!.value)

  it('delays every byte by the path latency and keeps order', async () => {
    const e = await emulator(80, 0)
    const target = await sink()
    const via = await e.route(0, 1, multiaddr(`/ip4/127.0.0.1/tcp/${target.port}`))
    expect(e.carries(via)).toBe(true)
    expect(e.carries(multiaddr(`/ip4/127.0.0.1/tcp/${target.port}`))).toBe(false)
    const socket = await dial(tcpPort(via.toString()))
    const data = new Uint8Array(100_000).map((_, i) => (i * 7) % 251)
    const sentAt = performance.now()
    socket.write(data)
    const { bytes, at } = await target.received(data.byteLength)
    expect(at - sentAt).toBeGreaterThanOrEqual(79)
    expect(bytes).toEqual(Buffer.from(data))
    const traffic = await e.traffic()
    expect(traffic.sent[0]).toBe(data.byteLength)
    expect(traffic.received[1]).toBe(data.byteLength)
  })

  it('carries no more than the link speed', async () => {
    // 8 Mbit/s = 1 MB/s: 500 KB take at least half a second
    const e = await emulator(0, 8)
    const target = await sink()
    const via = await e.route(0, 1, multiaddr(`/ip4/127.0.0.1/tcp/${target.port}`))
    const socket = await dial(tcpPort(via.toString()))
    const data = new Uint8Array(500_000).fill(3)
    const sentAt = performance.now()
    socket.write(data)
    const { bytes, at } = await target.received(data.byteLength)
    expect(at - sentAt).toBeGreaterThanOrEqual(495)
    expect(bytes.byteLength).toBe(data.byteLength)
  })

  it('shares one uplink among all of a node’s connections', async () => {
    // node 0 sends 250 KB to each of two nodes: 500 KB through one 1 MB/s uplink
    const e = await emulator(0, 8)
    const a = await sink()
    const b = await sink()
    const toA = await dial(tcpPort((await e.route(0, 1, multiaddr(`/ip4/127.0.0.1/tcp/${a.port}`))).toString()))
    const toB = await dial(tcpPort((await e.route(0, 2, multiaddr(`/ip4/127.0.0.1/tcp/${b.port}`))).toString()))
    const data = new Uint8Array(250_000).fill(5)
    const sentAt = performance.now()
    toA.write(data)
    toB.write(data)
    const [ra, rb] = await Promise.all([a.received(data.byteLength), b.received(data.byteLength)])
    expect(Math.max(ra.at, rb.at) - sentAt).toBeGreaterThanOrEqual(495)
    // fair queueing: the two share the uplink to the end, so even the first
    // to finish needs nearly all of it (first in, first out would finish it at 250 ms)
    expect(Math.min(ra.at, rb.at) - sentAt).toBeGreaterThanOrEqual(450)
  })
})

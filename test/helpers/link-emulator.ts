/**
 * A wide-area network between test or bench nodes, still on loopback TCP in
 * one process: every connection is dialed through a proxy that gives each node an
 * access link of limited speed and each path a one-way latency (the model is
 * described in link-emulator-worker.ts, which runs it on its own thread).
 *
 * Why: on bare loopback every byte is free and instant, so capacity there
 * measures how much CPU 20 nodes share on one thread, and gossipsub's
 * IDONTWANT arrives before the duplicate it asks to suppress. Real peers sit
 * tens of milliseconds apart on links of finite speed: duplicates are already
 * on the wire when IDONTWANT lands, and every redundant byte takes the place
 * of a useful one. This is the setting the protocol is built for, and where
 * its races (a second announcement while the body is on its way) are real.
 */
import { Worker } from 'node:worker_threads'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { EmulatorConfig, EmulatorReply, EmulatorRequest } from './link-emulator-worker.ts'

export interface LinkProfile {
  /** one-way delay of every path, ms */
  latencyMs: number
  /** each node's uplink and downlink speed, Mbit/s; 0 = unlimited */
  mbit: number
}

function tcpEndpoint (addr: Multiaddr): { host: string, port: number } {
  const components = addr.getComponents()
  const host = components.find(c => c.name === 'ip4' || c.name === 'ip6')?.value
  const port = components.find(c => c.name === 'tcp')?.value
  if (host === undefined || port === undefined) throw new Error(`link emulator: not a TCP address: ${addr.toString()}`)
  return { host, port: Number(port) }
}

export class LinkEmulator {
  private nextId = 0
  private readonly waiting = new Map<number, { resolve: (reply: EmulatorReply) => void, reject: (err: Error) => void }>()
  /** the proxies' ports */
  private readonly proxies = new Set<number>()

  private readonly worker: Worker

  private constructor (worker: Worker) {
    this.worker = worker
    worker.on('message', (reply: EmulatorReply) => {
      if (!('id' in reply)) return
      const waiter = this.waiting.get(reply.id)
      this.waiting.delete(reply.id)
      waiter?.resolve(reply)
    })
    // a worker that dies fails what waits on it, instead of hanging the bench
    worker.on('error', (err) => { this.failAll(err) })
    worker.on('exit', (code) => { this.failAll(new Error(`link emulator worker exited (${code})`)) })
  }

  static async start (profile: LinkProfile): Promise<LinkEmulator> {
    if (!(profile.latencyMs >= 0) || !(profile.mbit >= 0)) throw new Error(`link emulator: bad profile ${JSON.stringify(profile)}`)
    const worker = new Worker(new URL('./link-emulator-worker.ts', import.meta.url))
    const config: EmulatorConfig = {
      latencyMs: profile.latencyMs,
      bytesPerSec: profile.mbit * 1_000_000 / 8,
      // about what a Linux TCP connection lets a sender have unacknowledged on such a path
      queueBytes: 256 * 1024
    }
    await new Promise<void>((resolve, reject) => {
      worker.once('error', reject)
      worker.once('message', () => { resolve() })
      worker.postMessage({ type: 'start', config } satisfies EmulatorRequest)
    })
    return new LinkEmulator(worker)
  }

  private failAll (err: Error): void {
    for (const waiter of this.waiting.values()) waiter.reject(err)
    this.waiting.clear()
  }

  private async ask (request: (id: number) => EmulatorRequest): Promise<EmulatorReply> {
    const id = this.nextId++
    return await new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject })
      this.worker.postMessage(request(id))
    })
  }

  /** The address node `from` dials to reach node `to` (listening on `target`) over the emulated network. */
  async route (from: number, to: number, target: Multiaddr): Promise<Multiaddr> {
    const { host, port } = tcpEndpoint(target)
    const reply = await this.ask(id => ({ type: 'route', id, from, to, host, port }))
    if (reply.type !== 'routed') throw new Error(`link emulator: unexpected reply ${reply.type}`)
    this.proxies.add(reply.port)
    const peerId = target.getComponents().find(c => c.name === 'p2p')?.value
    return multiaddr(`/ip4/127.0.0.1/tcp/${reply.port}${peerId === undefined ? '' : `/p2p/${peerId}`}`)
  }

  /** True when a dialed address is one of the emulator's: a connection that bypasses it would not be shaped. */
  carries (remote: Multiaddr): boolean {
    return this.proxies.has(tcpEndpoint(remote).port)
  }

  /** Bytes each node sent and received over the emulated network since the last call. */
  async traffic (): Promise<{ sent: number[], received: number[] }> {
    const reply = await this.ask(id => ({ type: 'stats', id }))
    if (reply.type !== 'stats') throw new Error(`link emulator: unexpected reply ${reply.type}`)
    return { sent: reply.sentBytes, received: reply.receivedBytes }
  }

  async stop (): Promise<void> {
    await this.ask(id => ({ type: 'stop', id }))
    await this.worker.terminate()
  }
}

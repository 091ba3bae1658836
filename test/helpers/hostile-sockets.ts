import { readFileSync } from 'node:fs'
import net from 'node:net'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { WebSocket } from 'ws'

/**
 * Socket-level attackers: they never get as far as a libp2p protocol. Each
 * holds `count` sockets from one local address (bind `localAddress` to
 * 127.0.0.2 and the node sees a second host on loopback) and opens a new one
 * whenever the node cuts one, as an attacker would.
 */
export type FloodKind =
  /** TCP connect, then silence: never a byte of multistream-select */
  | 'raw'
  /** finishes the WebSocket HTTP upgrade, then says nothing */
  | 'ws-upgraded'

export interface SocketFlood {
  /** Sockets opened so far (reconnects included). */
  readonly opened: number
  /** Sockets the node closed. */
  readonly cut: number
  /** Sockets open right now. */
  readonly live: number
  /** Stops replacing cut sockets; the open ones stay as they are. */
  hold: () => void
  stop: () => void
}

export interface FloodOptions {
  kind: FloodKind
  host: string
  port: number
  localAddress: string
  count: number
  /** Pause before replacing a cut socket. Default 100 ms. */
  reconnectDelayMs?: number
}

export function socketFlood (opts: FloodOptions): SocketFlood {
  let opened = 0
  let cut = 0
  let live = 0
  let stopped = false
  let holding = false
  const closers = new Set<() => void>()
  const replace = (): void => {
    if (!stopped && !holding) setTimeout(open, opts.reconnectDelayMs ?? 100)
  }
  const open = (): void => {
    if (stopped || holding) return
    opened++
    live++
    let gone = false
    const onGone = (): void => {
      if (gone) return
      gone = true
      live--
      closers.delete(close)
      if (!stopped) cut++
      replace()
    }
    let close: () => void
    if (opts.kind === 'raw') {
      const socket = net.connect({ host: opts.host, port: opts.port, localAddress: opts.localAddress })
      socket.on('error', () => {})
      socket.on('close', onGone)
      close = () => { socket.destroy() }
    } else {
      const ws = new WebSocket(`ws://${opts.host}:${opts.port}`, { localAddress: opts.localAddress, handshakeTimeout: 10_000 })
      ws.on('error', () => {})
      ws.on('close', onGone)
      close = () => { ws.terminate() }
    }
    closers.add(close)
  }
  for (let i = 0; i < opts.count; i++) open()
  return {
    get opened () { return opened },
    get cut () { return cut },
    get live () { return live },
    hold: () => { holding = true },
    stop: () => {
      stopped = true
      for (const close of [...closers]) close()
    }
  }
}

export interface DialTally {
  ok: number
  total: number
  /** Slowest successful dial, ms. */
  worstMs: number
}

/**
 * An honest peer from 127.0.0.1: a fresh libp2p node that dials `addr`
 * (full handshake: noise + yamux), hangs up, and repeats, `count` times,
 * `intervalMs` apart. Each dial gets `timeoutMs`.
 */
export async function honestDials (addr: string, count: number, intervalMs = 300, timeoutMs = 20_000): Promise<DialTally> {
  const tally: DialTally = { ok: 0, total: 0, worstMs: 0 }
  while (tally.total < count) {
    const client = await createLibp2p({ transports: [tcp(), webSockets()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
    tally.total++
    const t = performance.now()
    try {
      const conn = await client.dial(multiaddr(addr), { signal: AbortSignal.timeout(timeoutMs) })
      tally.ok++
      tally.worstMs = Math.max(tally.worstMs, Math.round(performance.now() - t))
      await Promise.resolve(conn.close()).catch(() => {})
    } catch {
      // refused or timed out: what the attack is meant to cause
    }
    await Promise.resolve(client.stop()).catch(() => {})
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
  return tally
}

/** Samples a process's resident set size every 200 ms; `stop()` gives the peak in MB. */
export function rssSampler (pid: number): { stop: () => number } {
  let peak = 0
  const sample = (): void => {
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
      peak = Math.max(peak, kb)
    } catch {
      // the process is gone
    }
  }
  sample()
  const timer = setInterval(sample, 200)
  return { stop: () => { clearInterval(timer); sample(); return Math.round(peak / 1024) } }
}

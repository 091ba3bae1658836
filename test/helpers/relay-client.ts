import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { tcp, type TCPSocketOptions } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { FaultTolerance, type Libp2p } from '@libp2p/interface'
import { createLibp2p } from 'libp2p'
import { afterEach } from 'vitest'
import { removeDir, startNodeProcess, tempDir, type NodeProcess } from './process.ts'

export interface RelayClientOptions {
  /** Bind outgoing TCP sockets to this address (127.0.0.2 looks like another host on loopback). */
  localAddress?: string
}

/**
 * A peer that asks the relay at `relayAddr` (TCP or WebSocket multiaddr with
 * /p2p/) for a reservation, as a browser does: it listens on
 * `${relayAddr}/p2p-circuit`. A refused reservation does not stop it.
 */
export async function relayClient (relayAddr: string, opts: RelayClientOptions = {}): Promise<Libp2p> {
  // @libp2p/tcp passes dialOpts through to net.connect, whose options include localAddress
  const dialOpts = opts.localAddress === undefined ? undefined : { localAddress: opts.localAddress } as TCPSocketOptions
  return await createLibp2p({
    addresses: { listen: [`${relayAddr}/p2p-circuit`] },
    transports: [tcp(dialOpts === undefined ? {} : { dialOpts }), webSockets(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
    // a refused reservation must not stop the peer: refusals are what the tests look at
    transportManager: { faultTolerance: FaultTolerance.NO_FATAL }
  })
}

export const reserved = (c: Libp2p): boolean => c.getMultiaddrs().some(a => a.toString().includes('/p2p-circuit'))

/**
 * What a relay test holds, and stops after each test: node processes (each on
 * its own data dir, removed after) and relay clients. Call inside a test file
 * (it registers an afterEach).
 */
export function useRelayFixture (): { node: (args: string[]) => Promise<NodeProcess>, client: (relayAddr: string, opts?: RelayClientOptions) => Promise<Libp2p> } {
  const running: NodeProcess[] = []
  const clients: Libp2p[] = []
  const dirs: string[] = []
  afterEach(async () => {
    await Promise.all(clients.splice(0).map(async c => { await Promise.resolve(c.stop()).catch(() => {}) }))
    await Promise.all(running.splice(0).map(async n => { if (n.proc.exitCode === null) await n.kill9() }))
    for (const d of dirs.splice(0)) removeDir(d)
  })
  return {
    node: async (args) => {
      const dataDir = tempDir()
      dirs.push(dataDir)
      const n = await startNodeProcess({ dataDir, args })
      running.push(n)
      return n
    },
    client: async (relayAddr, opts = {}) => {
      const c = await relayClient(relayAddr, opts)
      clients.push(c)
      return c
    }
  }
}

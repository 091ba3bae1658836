import { createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { Emitter } from '../../src/index.ts'
import type { ConnectivityComponents } from '../../web/connectivity/components.ts'
import { connectivityConfig } from '../../web/connectivity/config.ts'
import { RelayDialGuard } from '../../web/connectivity/relay-dial-guard.ts'
import { RelayKeeper } from '../../web/connectivity/relay-keeper.ts'
import type { ConnectivityEvents } from '../../web/connectivity/status.ts'
import { noise } from '@chainsafe/libp2p-noise'
import { muxer } from '../../src/net/muxer.ts'

/**
 * How a tab redials its relay: soon when the relay is down (a restart is the
 * common case), further apart when the relay takes the socket and then does
 * not finish the handshake (it is up and overloaded, and each handshake a
 * tab starts costs it CPU). The keeper runs in a real libp2p node (Node's
 * TCP stands in for the browser's WebSocket); the "relays" are a closed port
 * and a server that accepts sockets and never answers.
 */

const config = connectivityConfig({ relayRetryBaseMs: 50, relayRetryMaxMs: 100, relayBusyRetryMaxMs: 1_000, relayDialTimeoutMs: 200 })

let node: Libp2p<{ keeper: RelayKeeper }> | undefined
let server: Server | undefined
const sockets: Socket[] = []
afterEach(async () => {
  await node?.stop()
  node = undefined
  for (const s of sockets.splice(0)) s.destroy()
  await new Promise<void>(resolve => { if (server === undefined) resolve(); else server.close(() => { resolve() }) })
  server = undefined
})

async function keeperFor (relayAddr: string): Promise<RelayKeeper> {
  node = await createLibp2p({
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [muxer()],
    services: {
      keeper: (components: ConnectivityComponents) => new RelayKeeper(components, {
        relays: [relayAddr], config, guard: new RelayDialGuard(), events: new Emitter<ConnectivityEvents>(), log: Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false, newScope: () => { throw new Error('unused') } }) as never
      })
    }
  })
  return node.services.keeper
}

/** Ticks the keeper until it has failed `failures` dials in a row; then the wait it set before the next. */
async function waitAfter (keeper: RelayKeeper, failures: number): Promise<number> {
  for (;;) {
    keeper.tick(Date.now())
    const s = keeper.status([])[0]!
    if (s.state === 'waiting' && s.failures >= failures) return s.retryAt! - Date.now()
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

async function relayPeer (): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
}

describe('relay redial backoff', () => {
  it('a relay that is down (its port refuses) is redialled within relayRetryMaxMs', async () => {
    const closed = createServer()
    await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>(resolve => closed.close(() => { resolve() }))
    const keeper = await keeperFor(`/ip4/127.0.0.1/tcp/${port}/p2p/${await relayPeer()}`)
    const wait = await waitAfter(keeper, 5)
    expect(wait).toBeLessThanOrEqual(config.relayRetryMaxMs * 1.2)
  })

  it('a relay that takes the socket and never finishes the handshake is redialled further apart, up to relayBusyRetryMaxMs', async () => {
    server = createServer((s) => { sockets.push(s) })
    await new Promise<void>(resolve => server!.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as AddressInfo).port
    const keeper = await keeperFor(`/ip4/127.0.0.1/tcp/${port}/p2p/${await relayPeer()}`)
    // 50, 100, 200, 400 ms after the 1st to 4th timed-out dial: past relayRetryMaxMs from the 3rd
    const wait = await waitAfter(keeper, 4)
    expect(wait).toBeGreaterThan(config.relayRetryMaxMs * 1.2)
    expect(wait).toBeLessThanOrEqual(config.relayBusyRetryMaxMs * 1.2)
  })
})

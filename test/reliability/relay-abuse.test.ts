import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from '@libp2p/interface'
import { describe, expect, it } from 'vitest'
import { toHex } from '../../src/index.ts'
import { recordFigure } from '../helpers/figures.ts'
import { waitFor } from '../helpers/network.ts'
import { reserved, useRelayFixture } from '../helpers/relay-client.ts'
import { makeTx } from '../helpers/txs.ts'

const { node, client: relayClient } = useRelayFixture()

describe('relay abuse', () => {
  it('reservation exhaustion and oversized relayed traffic stay within the limits, and the relay keeps gossiping', async () => {
    const MAX_RESERVATIONS = 4
    const DATA_LIMIT = 64 * 1024
    const relay = await node(['--relay-max-reservations', String(MAX_RESERVATIONS), '--relay-data-limit', String(DATA_LIMIT), '--relay-duration-limit', '60'])
    const other = await node(['--bootstrap', relay.tcpAddr])
    await waitFor(async () => (await relay.call<unknown[]>('p2p_getPeers')).length > 0, 15_000, 'the full node to join the relay')

    // exhaustion: ten peers ask for four reservations
    const crowd = await Promise.all(Array.from({ length: 10 }, async () => await relayClient(relay.tcpAddr)))
    await waitFor(() => crowd.filter(reserved).length >= MAX_RESERVATIONS, 15_000, 'the reservations to be taken')
    await new Promise(resolve => setTimeout(resolve, 1_500))
    const holders = crowd.filter(reserved)
    expect(holders.length).toBe(MAX_RESERVATIONS)
    const metrics = await (await fetch(relay.info.rpc.replace(/\/rpc$/, '/metrics'))).text()
    const gauge = Number(/^lightpool_relay_reservations (\d+)/m.exec(metrics)?.[1])
    expect(gauge).toBeLessThanOrEqual(MAX_RESERVATIONS)

    // oversized relayed traffic: one holder pushes 1 MiB to another through the relay
    const [sender, receiver] = holders as [Libp2p, Libp2p]
    let received = 0
    await receiver.handle('/abuse/1', async (stream) => {
      try {
        for await (const chunk of stream) received += chunk.byteLength
      } catch {
        // the relay cut the connection
      }
    }, { runOnLimitedConnection: true })
    const circuit = multiaddr(`${relay.tcpAddr}/p2p-circuit/p2p/${receiver.peerId.toString()}`)
    let sent = 0
    let cut = false
    try {
      const stream = await sender.dialProtocol(circuit, '/abuse/1', { runOnLimitedConnection: true })
      const chunk = new Uint8Array(16 * 1024)
      for (let i = 0; i < 64; i++) {
        if (!stream.send(chunk)) await stream.onDrain({ signal: AbortSignal.timeout(5_000) })
        sent += chunk.byteLength
      }
      await stream.close()
    } catch {
      cut = true
    }
    await waitFor(() => sender.getConnections(receiver.peerId).length === 0, 10_000, 'the relay to close the relayed connection')
    expect(received).toBeLessThanOrEqual(DATA_LIMIT)

    // the relay's own gossip is unaffected: a tx from the other full node arrives
    const tx = await makeTx({ payloadBytes: 40_000 })
    const t = performance.now()
    await other.call('pool_sendTx', [`0x${toHex(tx.bytes)}`])
    await waitFor(async () => (await relay.call('pool_getTx', [`0x${tx.hash}`])) !== null, 10_000, 'gossip through the relay')
    const gossipMs = Math.round(performance.now() - t)

    recordFigure('relay abuse', 'reservations and relayed data limits', {
      asked: crowd.length,
      reserved: holders.length,
      max_reservations: MAX_RESERVATIONS,
      relayed_bytes_pushed: sent,
      relayed_bytes_delivered: received,
      data_limit: DATA_LIMIT,
      sender_cut_off: cut,
      relay_gossip_ms: gossipMs
    })
  }, 90_000)
})

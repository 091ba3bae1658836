import { describe, expect, it } from 'vitest'
import { recordFigure } from '../helpers/figures.ts'
import { waitFor } from '../helpers/network.ts'
import type { NodeProcess } from '../helpers/process.ts'
import { reserved, useRelayFixture } from '../helpers/relay-client.ts'

/**
 * Throwaway identities against a real relay's reservation slots. libp2p's
 * relay server keeps a reservation for its TTL (2 h) after its holder has
 * gone, so eight identities that reserved and left kept eight slots for good;
 * and one host could take every slot with fresh identities.
 */
const { node: relayNode, client } = useRelayFixture()

async function reservationGauge (relay: NodeProcess): Promise<number> {
  const metrics = await (await fetch(relay.info.rpc.replace(/\/rpc$/, '/metrics'))).text()
  return Number(/^lightpool_relay_reservations (\d+)/m.exec(metrics)?.[1])
}

describe('hostile relay clients', () => {
  it('eight throwaway identities reserve every slot and leave: a new browser-like peer still gets a reservation', async () => {
    const MAX = 8
    const relay = await relayNode(['--relay-max-reservations', String(MAX)])
    const throwaway = await Promise.all(Array.from({ length: MAX }, async () => await client(relay.tcpAddr)))
    await waitFor(() => throwaway.every(reserved), 20_000, 'every throwaway identity to reserve')
    expect(await reservationGauge(relay)).toBe(MAX)

    // they leave without a word
    await Promise.all(throwaway.map(async c => { await c.stop() }))
    await waitFor(async () => await reservationGauge(relay) === 0, 20_000, 'the relay to free the slots of peers that left')

    // a browser dials the WebSocket port and asks for a reservation
    const t = performance.now()
    const browserLike = await client(relay.info.browserAddrs[0]!)
    await waitFor(() => reserved(browserLike), 20_000, 'the newcomer\'s reservation')
    recordFigure('hostile relay clients', 'throwaway identities reserve and leave', {
      max_reservations: MAX,
      reserved_then_left: throwaway.length,
      newcomer_reserved: reserved(browserLike),
      newcomer_reservation_ms: Math.round(performance.now() - t)
    })
  }, 90_000)

  it('one address asks for every slot with fresh identities: it gets its per-address share, and a peer from another address gets in', async () => {
    const MAX = 8
    const PER_ADDRESS = 4
    const relay = await relayNode(['--relay-max-reservations', String(MAX), '--relay-max-reservations-per-address', String(PER_ADDRESS)])
    const crowd = await Promise.all(Array.from({ length: MAX }, async () => await client(relay.tcpAddr, { localAddress: '127.0.0.2' })))
    await waitFor(() => crowd.filter(reserved).length >= PER_ADDRESS, 20_000, 'the attacker\'s share of reservations')
    // give the rest time to be answered (refused)
    await new Promise(resolve => setTimeout(resolve, 3_000))
    const attackerHeld = crowd.filter(reserved).length
    expect(attackerHeld).toBe(PER_ADDRESS)

    const honest = await client(relay.tcpAddr)
    await waitFor(() => reserved(honest), 20_000, 'the honest peer\'s reservation')
    recordFigure('hostile relay clients', 'one address, fresh identities', {
      max_reservations: MAX,
      per_address: PER_ADDRESS,
      attacker_asked: crowd.length,
      attacker_reserved: attackerHeld,
      honest_reserved: reserved(honest)
    })
  }, 90_000)
})

import { afterEach, describe, expect, it } from 'vitest'
import type { Lightpool } from '../../src/lightpool.ts'
import { encodeFetchRequest, KIND_TX } from '../../src/net/messages.ts'
import { recordFigure } from '../helpers/figures.ts'
import { fakeMeta, hoardStreams, hostilePeer, sendFetchFrame, syncHammer, type HostilePeer } from '../helpers/hostile.ts'
import { connect, startNode, stopAll, waitFor, waitForMesh, type TestNodeInit } from '../helpers/network.ts'
import { ring } from '../helpers/topology.ts'
import { makeTx } from '../helpers/txs.ts'

/**
 * Hostile peers against a ring of four honest full nodes. Each attacker is
 * penalized and disconnected within a bounded number of messages, and
 * honest propagation goes on meanwhile: time-to-all is measured before and
 * during each attack.
 */
let honest: Lightpool[] = []
let hostiles: HostilePeer[] = []
let extra: Lightpool[] = []
afterEach(async () => {
  await stopAll([...honest, ...extra])
  await Promise.all(hostiles.map(async h => { await h.stop().catch(() => {}) }))
  honest = []
  hostiles = []
  extra = []
})

/** Short timeouts so a silent peer costs a test seconds, not minutes; the limits themselves are the defaults. */
const HONEST: TestNodeInit = {
  net: { fetcher: { requestTimeoutMs: 300 }, fetchServe: { requestReadTimeoutMs: 500 } }
}

async function honestRing (): Promise<Lightpool[]> {
  honest = await Promise.all([0, 1, 2, 3].map(async () => await startNode(HONEST)))
  for (const [a, b] of ring(4)) await connect(honest[a]!, honest[b]!)
  await waitForMesh(honest)
  return honest
}

/** Publishes `count` valid txs from the far side of the ring; the worst publish→everyone time in ms. */
async function timeToAll (count: number): Promise<number> {
  let worst = 0
  for (let i = 0; i < count; i++) {
    const tx = await makeTx({ payloadBytes: 40_000 })
    const t = performance.now()
    await honest[2]!.submitTx(tx.bytes)
    await waitFor(() => honest.every(n => n.pool.get(tx.hash)?.hasBody === true), 10_000, 'honest propagation')
    worst = Math.max(worst, performance.now() - t)
  }
  return Math.round(worst)
}

/** Runs `attack` (which returns how many messages it sent) until the victim bans the attacker; records the figures. */
async function expectBanned (name: string, attackerId: string, attack: (stop: () => boolean) => Promise<number>, bound: number): Promise<void> {
  const victim = honest[0]!
  const before = await timeToAll(3)
  let banned = false
  const t0 = performance.now()
  let tBan = 0
  victim.reputation.events.on('banned', (e) => {
    if (e.peer === attackerId && !banned) {
      banned = true
      tBan = performance.now() - t0
    }
  })
  const attacking = attack(() => banned)
  const during = await timeToAll(3)
  const messages = await attacking
  await waitFor(() => banned, 20_000, `${name}: the ban`)
  await waitFor(() => victim.libp2p.getConnections().every(c => c.remotePeer.toString() !== attackerId), 5_000, `${name}: the disconnect`)
  expect(messages).toBeLessThanOrEqual(bound)
  expect(victim.reputation.isBanned(attackerId)).toBe(true)
  recordFigure('hostile peers', name, { messages_until_ban: messages, bound, ms_until_ban: Math.round(tBan), t_all_before_ms: before, t_all_during_ms: during })
}

async function attacker (): Promise<HostilePeer> {
  const h = await hostilePeer('test')
  hostiles.push(h)
  await h.libp2p.dial(honest[0]!.libp2p.getMultiaddrs()[0]!)
  await waitFor(() => honest[0]!.libp2p.services.pubsub.getSubscribers(h.ids.txTopic).some(p => p.equals(h.peerId)), 5_000, 'the attacker to subscribe')
  return h
}

describe('hostile peers', () => {
  it('a peer flooding invalid txs', async () => {
    await honestRing()
    const bad = await startNode({ verifier: { verify: async () => undefined } })
    extra.push(bad)
    await connect(bad, honest[0]!)
    await waitForMesh([bad, honest[0]!])
    await expectBanned('floods invalid txs', bad.peerId.toString(), async (stop) => {
      let sent = 0
      while (!stop() && sent < 50) {
        const built = await makeTx({ payloadBytes: 2_000 })
        const forged = built.bytes.slice()
        forged[forged.length - 1] = forged[forged.length - 1]! ^ 1
        await bad.submitTx(forged).catch(() => {})
        sent++
        await new Promise(resolve => setTimeout(resolve, 20))
      }
      return sent
    }, 8)
  })

  it('a peer that announces and never serves', async () => {
    await honestRing()
    const h = await attacker()
    await h.serveFetch('silent')
    await expectBanned('announces, never answers', h.peerId.toString(), async (stop) => {
      let sent = 0
      while (!stop() && sent < 2_000) {
        await h.announce(fakeMeta(sent++, 2_000))
        await new Promise(resolve => setTimeout(resolve, 10))
      }
      return sent
    }, 2_000)
    // a timed-out request costs 10 points plus 2 per further body it held (at most 10):
    // the ban comes after 4 to 10 requests; the fetch timeout (here 0.3 s) sets how long that takes
  })

  it('a peer that announces and answers "missing"', async () => {
    await honestRing()
    const h = await attacker()
    await h.serveFetch('missing')
    await expectBanned('announces, serves nothing', h.peerId.toString(), async (stop) => {
      let sent = 0
      while (!stop() && sent < 500) {
        await h.announce(fakeMeta(sent++))
        await new Promise(resolve => setTimeout(resolve, 5))
      }
      return sent
    }, 500)
  })

  it('a peer whose bodies do not match its announcements', async () => {
    await honestRing()
    const h = await attacker()
    await h.serveFetch(() => crypto.getRandomValues(new Uint8Array(40_000)))
    await expectBanned('serves mismatching bodies', h.peerId.toString(), async (stop) => {
      let sent = 0
      while (!stop() && sent < 50) {
        await h.announce(fakeMeta(sent++))
        await new Promise(resolve => setTimeout(resolve, 30))
      }
      return sent
    }, 6)
  })

  it('a peer sending oversized messages', async () => {
    await honestRing()
    const h = await attacker()
    const victim = honest[0]!.peerId
    await expectBanned('sends oversized frames', h.peerId.toString(), async (stop) => {
      let sent = 0
      while (!stop() && sent < 20) {
        sent++
        await sendFetchFrame(h.libp2p, victim, h.ids.fetch, new Uint8Array(1024 * 1024)).catch(() => {})
        await new Promise(resolve => setTimeout(resolve, 30))
      }
      return sent
    }, 3)
  })

  it('a peer that requests the whole pool in a loop', async () => {
    await honestRing()
    for (let i = 0; i < 20; i++) await honest[0]!.submitTx((await makeTx({ payloadBytes: 1_000 })).bytes)
    const h = await attacker()
    await expectBanned('requests the pool in a loop', h.peerId.toString(), async (stop) => {
      let sent = 0
      while (!stop() && sent < 200) {
        await syncHammer(h.libp2p, honest[0]!.peerId, h.ids.sync, 1)
        sent++
      }
      return sent
    }, 130)
    // the first 100 pages in 10 s are served (the quota); each one past it is refused and costs 5 points
  })

  it('a peer that opens many streams', async () => {
    await honestRing()
    const h = await attacker()
    await expectBanned('hoards fetch streams', h.peerId.toString(), async (stop) => {
      let sent = 0
      while (!stop() && sent < 100) {
        sent += await hoardStreams(h.libp2p, honest[0]!.peerId, h.ids.fetch, 1)
        if (sent === 0) break
      }
      return sent
    }, 30)
  })

  it('a peer flooding fetch requests on fresh streams', async () => {
    await honestRing()
    const h = await attacker()
    const tx = await makeTx({ payloadBytes: 40_000 })
    await honest[0]!.submitTx(tx.bytes)
    await expectBanned('floods fetch requests', h.peerId.toString(), async (stop) => {
      let sent = 0
      while (!stop() && sent < 400) {
        await sendFetchFrame(h.libp2p, honest[0]!.peerId, h.ids.fetch, encodeFetchRequest({ kind: KIND_TX, hashes: [tx.hash] })).catch(() => {})
        sent++
      }
      return sent
    }, 400)
  })
})

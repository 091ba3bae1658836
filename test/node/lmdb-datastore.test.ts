import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { MemoryDatastore } from 'datastore-core'
import { Key, type Datastore, type Pair, type Query } from 'interface-datastore'
import { NotFoundError } from 'interface-store'
import { createLibp2p } from 'libp2p'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { openDatabase, type Database } from '../../node/store/database.ts'
import { LmdbDatastore } from '../../node/store/lmdb-datastore.ts'

let dir: string
let opened: Database[]

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lightpool-datastore-'))
  opened = []
})

afterEach(async () => {
  for (const db of opened) await db.close()
  rmSync(dir, { recursive: true, force: true })
})

async function openDb (): Promise<Database> {
  const db = await openDatabase({ path: dir, network: 'testnet' })
  opened.push(db)
  return db
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)

async function collect<T> (it: Iterable<T> | AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

const KEYS = ['/peers/b', '/peers/a', '/peers/ü/1', '/peersx/c', '/other/d', '/peers/c/deep', '/p']

async function fill (ds: Datastore): Promise<void> {
  for (const [i, k] of KEYS.entries()) await ds.put(new Key(k), bytes(`v${i}`))
}

describe('LmdbDatastore', () => {
  it('puts, gets, tests and deletes', async () => {
    const ds = new LmdbDatastore(await openDb())
    const key = new Key('/peers/abc')
    expect(await ds.put(key, bytes('hello'))).toBe(key)
    expect(await ds.has(key)).toBe(true)
    const value = await ds.get(key)
    expect(value).toEqual(bytes('hello'))
    expect(value.constructor).toBe(Uint8Array)
    await ds.put(key, bytes('again'))
    expect(await ds.get(key)).toEqual(bytes('again'))
    await ds.delete(key)
    expect(await ds.has(key)).toBe(false)
    await ds.delete(key) // deleting a missing key is fine, as in MemoryDatastore
  })

  it('rejects get of a missing key with the NotFoundError libp2p expects', async () => {
    const ds = new LmdbDatastore(await openDb())
    const err = await Promise.resolve(ds.get(new Key('/peers/nobody'))).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NotFoundError)
    expect(err).toMatchObject({ name: 'NotFoundError', code: 'ERR_NOT_FOUND' })
  })

  it('honours an aborted signal', async () => {
    const ds = new LmdbDatastore(await openDb())
    const signal = AbortSignal.abort()
    await expect(ds.put(new Key('/a'), bytes('x'), { signal })).rejects.toThrow()
    await expect(collect(ds.query({}, { signal }))).rejects.toThrow()
    expect(await ds.has(new Key('/a'))).toBe(false)
  })

  it('answers queries exactly as MemoryDatastore does', async () => {
    const ds = new LmdbDatastore(await openDb(), { pageSize: 2 })
    const memory = new MemoryDatastore()
    await fill(ds)
    await fill(memory)
    const byKey = (a: Pair, b: Pair): -1 | 0 | 1 => a.key.toString() < b.key.toString() ? -1 : a.key.toString() > b.key.toString() ? 1 : 0
    const queries: Query[] = [
      {},
      { prefix: '/peers/' },
      { prefix: '/peers' },
      { prefix: '/peers/c' },
      { prefix: '/nothing' },
      { prefix: '/peers/', filters: [({ value }) => new TextDecoder().decode(value) !== 'v0'] },
      { orders: [byKey], offset: 2, limit: 3 },
      { prefix: '/peers/', orders: [byKey], offset: 1, limit: 2 },
      { orders: [(a, b) => -byKey(a, b) as -1 | 0 | 1], limit: 2 }
    ]
    const show = (pairs: Pair[]): string[] => pairs.map(p => `${p.key.toString()}=${new TextDecoder().decode(p.value)}`)
    for (const q of queries) {
      const ours = show(await collect(ds.query(q)))
      const theirs = show(await collect(memory.query(q)))
      // without an order, a store lists in its own order (ours: key order)
      if (q.orders === undefined) expect(ours).toEqual([...theirs].sort())
      else expect(ours).toEqual(theirs)
      const keys = (await collect(ds.queryKeys({ prefix: q.prefix }))).map(k => k.toString())
      expect(keys).toEqual((await collect(memory.queryKeys({ prefix: q.prefix }))).map(k => k.toString()).sort())
    }
    expect(show(await collect(ds.query({ prefix: '/peers/' })))).toEqual(['/peers/a=v1', '/peers/b=v0', '/peers/c/deep=v5', '/peers/ü/1=v2'])
  })

  it('lets the consumer delete while querying', async () => {
    const ds = new LmdbDatastore(await openDb(), { pageSize: 2 })
    await fill(ds)
    const seen: string[] = []
    for await (const { key } of ds.query({ prefix: '/peers/' })) {
      seen.push(key.toString())
      await ds.delete(key)
    }
    expect(seen).toHaveLength(4)
    expect((await collect(ds.queryKeys({}))).map(String)).toEqual(['/other/d', '/p', '/peersx/c'])
  })

  it('commits a batch in one transaction, all or nothing', async () => {
    const db = await openDb()
    const ds = new LmdbDatastore(db)
    await ds.put(new Key('/old'), bytes('old'))
    const batch = ds.batch()
    batch.put(new Key('/new/1'), bytes('1'))
    batch.put(new Key('/new/2'), bytes('2'))
    batch.delete(new Key('/old'))
    await batch.commit()
    expect((await collect(ds.queryKeys({}))).map(String)).toEqual(['/new/1', '/new/2'])

    const putSync = db.peers.putSync.bind(db.peers)
    let calls = 0
    const spy = vi.spyOn(db.peers, 'putSync').mockImplementation((key, value) => {
      if (++calls === 2) throw new Error('disk on fire')
      return putSync(key, value)
    })
    const failing = ds.batch()
    failing.put(new Key('/new/3'), bytes('3'))
    failing.put(new Key('/new/4'), bytes('4'))
    failing.delete(new Key('/new/1'))
    await expect(failing.commit()).rejects.toThrow('disk on fire')
    spy.mockRestore()
    expect((await collect(ds.queryKeys({}))).map(String)).toEqual(['/new/1', '/new/2'])
  })

  it('refuses writes once the database is closed, by rejecting rather than crashing the process', async () => {
    // libp2p writes the peer store from connection-close events that can fire after its stop()
    const db = await openDb()
    const ds = new LmdbDatastore(db)
    await ds.put(new Key('/peers/a'), bytes('1'))
    await db.close()
    await expect(ds.put(new Key('/peers/b'), bytes('2'))).rejects.toThrow(/closed/)
    await expect(ds.delete(new Key('/peers/a'))).rejects.toThrow(/closed/)
    const batch = ds.batch()
    batch.put(new Key('/peers/c'), bytes('3'))
    await expect(batch.commit()).rejects.toThrow(/closed/)
    // give a write lmdb-js might have queued its timer turn: an uncaught throw there fails the run
    await new Promise(resolve => setTimeout(resolve, 50))
  })

  it('keeps its data across close and reopen', async () => {
    const db = await openDb()
    await fill(new LmdbDatastore(db))
    await db.close()
    const ds = new LmdbDatastore(await openDb())
    expect(await ds.get(new Key('/peers/ü/1'))).toEqual(bytes('v2'))
    expect(await collect(ds.queryKeys({}))).toHaveLength(KEYS.length)
  })

  it("persists libp2p's peer store across restarts", async () => {
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const addrs = ['/ip4/203.0.113.7/tcp/4001', '/dns4/pool.example.org/tcp/443/wss']
    const start = async (datastore: LmdbDatastore) => await createLibp2p({
      datastore,
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()]
    })

    const db = await openDb()
    const first = await start(new LmdbDatastore(db))
    await first.peerStore.merge(other, {
      multiaddrs: addrs.map(a => multiaddr(a)),
      tags: { 'lightpool-keep': { value: 42 } }
    })
    await first.stop()
    // it went to LMDB, under the peer store's own keys
    const stored = [...db.peers.getKeys()].map(k => new TextDecoder().decode(k))
    expect(stored.some(k => k.startsWith('/peers/'))).toBe(true)
    await db.close()

    const second = await start(new LmdbDatastore(await openDb()))
    try {
      const peer = await second.peerStore.get(other)
      expect(peer.addresses.map(a => a.multiaddr.toString()).sort()).toEqual([...addrs].sort())
      expect(peer.tags.get('lightpool-keep')?.value).toBe(42)
      expect((await second.peerStore.all()).map(p => p.id.toString())).toContain(other.toString())
    } finally {
      await second.stop()
    }
  })
})

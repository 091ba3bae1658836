import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { randomBytes } from 'node:crypto'
import { open } from 'lmdb'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DecodeError, StoreWriteError, toHex, TxIntake, TxPool, TxValidator, type StoredTx } from '../../src/index.ts'
import { sha256Sync } from '../../src/crypto/sha256.ts'
import { DataDirError, openDatabase, SCHEMA_VERSION, type Database } from '../../node/store/database.ts'
import { LmdbPoolStore } from '../../node/store/lmdb-pool-store.ts'
import { encodeRecord, recordKey } from '../../node/store/pool-record.ts'
import { crashRecord } from './fixtures/crash-record.ts'
import { makeTx } from '../helpers/txs.ts'

let dir: string
let opened: Database[]

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lightpool-store-'))
  opened = []
})

afterEach(async () => {
  for (const db of opened) await db.close()
  rmSync(dir, { recursive: true, force: true })
})

async function openDb (network = 'testnet', path = dir): Promise<Database> {
  const db = await openDatabase({ path, network })
  opened.push(db)
  return db
}

let counter = 0

/** A record whose hash is the SHA-256 of its body (or of a counter, without one). */
function record (opts: { body?: boolean, fee?: bigint } = {}): StoredTx {
  counter++
  const body = opts.body === false ? undefined : randomBytes(200 + (counter % 50))
  const hash = toHex(sha256Sync(body ?? new TextEncoder().encode(`no body ${counter}`)))
  const meta = {
    hash,
    size: body?.byteLength ?? 40_000,
    fee: opts.fee ?? BigInt(counter),
    expiresAt: 1_900_000_000_000 + counter,
    nullifiers: [toHex(sha256Sync(new TextEncoder().encode(`nullifier ${counter}`)))]
  }
  return body === undefined ? { meta, receivedAt: 1_700_000_000_000 + counter } : { meta, body: new Uint8Array(body), receivedAt: 1_700_000_000_000 + counter }
}

async function all (store: LmdbPoolStore): Promise<StoredTx[]> {
  const out: StoredTx[] = []
  for await (const rec of store.entries()) out.push(rec)
  return out
}

const byHash = (a: StoredTx, b: StoredTx): number => a.meta.hash < b.meta.hash ? -1 : 1

describe('LmdbPoolStore', () => {
  it('round-trips records with and without bodies', async () => {
    const store = new LmdbPoolStore(await openDb())
    const recs = [record(), record({ body: false }), record(), record({ body: false, fee: 2n ** 64n - 1n })]
    await store.write({ put: recs, delete: [] })
    expect(await all(store)).toEqual([...recs].sort(byHash))
    expect(await store.getBody(recs[0]!.meta.hash)).toEqual(recs[0]!.body)
    expect(await store.getBody(recs[1]!.meta.hash)).toBeUndefined()
  })

  it('returns undefined for the body of an unknown or malformed hash', async () => {
    const store = new LmdbPoolStore(await openDb())
    await store.write({ put: [record()], delete: [] })
    expect(await store.getBody('ab'.repeat(32))).toBeUndefined()
    expect(await store.getBody('not a hash')).toBeUndefined()
  })

  it('applies a batch of puts and deletes atomically', async () => {
    const db = await openDb()
    const store = new LmdbPoolStore(db)
    const [a, b, c, d, e] = [record(), record(), record(), record(), record({ body: false })]
    await store.write({ put: [a, b, c], delete: [] })
    await store.write({ put: [d, e], delete: [a.meta.hash, b.meta.hash, 'ff'.repeat(32)] })
    expect(await all(store)).toEqual([c, d, e].sort(byHash))

    // a batch that fails part-way leaves the store as it was
    const putSync = db.pool.putSync.bind(db.pool)
    let calls = 0
    const spy = vi.spyOn(db.pool, 'putSync').mockImplementation((key, value) => {
      if (++calls === 2) throw new Error('disk on fire')
      return putSync(key, value)
    })
    await expect(store.write({ put: [record(), record()], delete: [c.meta.hash] })).rejects.toThrow('disk on fire')
    spy.mockRestore()
    expect(await all(store)).toEqual([c, d, e].sort(byHash))

    // a record that cannot be encoded fails the batch before anything is written
    const bad = record()
    bad.meta.hash = 'xyz'
    await expect(store.write({ put: [record(), bad], delete: [d.meta.hash] })).rejects.toThrow(TypeError)
    expect(await all(store)).toHaveLength(3)
  })

  it('streams 5 000 records in key order, a page at a time', async () => {
    const db = await openDb()
    const store = new LmdbPoolStore(db, { pageSize: 100 })
    for (let i = 0; i < 10; i++) await store.write({ put: Array.from({ length: 500 }, () => record({ body: i % 2 === 0 })), delete: [] })

    const ranges = vi.spyOn(db.pool, 'getRange')
    let n = 0
    for await (const rec of store.entries()) {
      expect(rec.meta.hash).toHaveLength(64)
      if (++n === 10) break
    }
    // breaking early read one page, not the store
    expect(ranges).toHaveBeenCalledTimes(1)

    ranges.mockClear()
    let last = ''
    n = 0
    for await (const rec of store.entries()) {
      expect(rec.meta.hash > last).toBe(true)
      last = rec.meta.hash
      n++
    }
    expect(n).toBe(5000)
    expect(ranges).toHaveBeenCalledTimes(51)
    ranges.mockRestore()
  })

  it('lets the consumer delete records while streaming', async () => {
    const store = new LmdbPoolStore(await openDb(), { pageSize: 7 })
    const recs = Array.from({ length: 50 }, () => record())
    await store.write({ put: recs, delete: [] })
    const seen: string[] = []
    for await (const rec of store.entries()) {
      seen.push(rec.meta.hash)
      await store.write({ put: [], delete: [rec.meta.hash] })
    }
    expect(seen).toEqual(recs.map(r => r.meta.hash).sort())
    expect(await all(store)).toEqual([])
  })

  it('refuses a batch that puts while the disk has less free than minFreeBytes, and lets a batch of deletes through', async () => {
    const db = await openDb()
    const recs = [record(), record()]
    await new LmdbPoolStore(db).write({ put: recs, delete: [] })
    await db.close()
    // no disk has this much free: every write that adds data is refused before LMDB sees it
    const guarded = await openDatabase({ path: dir, network: 'testnet', minFreeBytes: Number.MAX_SAFE_INTEGER })
    opened.push(guarded)
    const store = new LmdbPoolStore(guarded)
    const refusal = store.write({ put: [record()], delete: [recs[0]!.meta.hash] })
    await expect(refusal).rejects.toBeInstanceOf(StoreWriteError)
    await expect(refusal).rejects.toThrow(/pool write refused: only .* MiB free on the data directory's disk, below --store-min-free-mb/)
    expect(guarded.writes.health()).toMatchObject({ status: 'failing', failedWrites: 1 })
    expect(await all(store)).toEqual([...recs].sort(byHash))
    await store.write({ put: [], delete: [recs[0]!.meta.hash] })
    expect(await all(store)).toEqual([recs[1]])
  })

  it('keeps its data across close and reopen', async () => {
    const db = await openDb()
    const store = new LmdbPoolStore(db)
    const recs = [record(), record({ body: false })]
    await store.write({ put: recs, delete: [] })
    await store.close()
    await expect(store.write({ put: [record()], delete: [] })).rejects.toThrow(/closed/)
    await db.close()

    const again = new LmdbPoolStore(await openDb())
    expect(await all(again)).toEqual([...recs].sort(byHash))
    expect(await again.getBody(recs[0]!.meta.hash)).toEqual(recs[0]!.body)
  })

  it('skips, reports and deletes a record that does not decode', async () => {
    const db = await openDb()
    const good = [record(), record()]
    const corrupt: Array<{ hash: string, error: unknown }> = []
    const store = new LmdbPoolStore(db, { onCorrupt: (hash, error) => corrupt.push({ hash, error }) })
    await store.write({ put: good, delete: [] })

    // garbage, a record filed under another hash, a truncated record: written with the raw lmdb API
    const garbage = new Uint8Array(32).fill(0x01)
    const misfiled = new Uint8Array(32).fill(0x02)
    const cut = record()
    const truncated = recordKey(cut.meta.hash)
    await db.pool.put(garbage, new Uint8Array([0xde, 0xad, 0xbe, 0xef]))
    await db.pool.put(misfiled, encodeRecord(record()))
    await db.pool.put(truncated, encodeRecord(cut).subarray(0, 50))

    expect(await all(store)).toEqual([...good].sort(byHash))
    expect(corrupt.map(c => c.hash).sort()).toEqual([toHex(garbage), toHex(misfiled), toHex(truncated)].sort())
    for (const c of corrupt) expect(c.error).toBeInstanceOf(DecodeError)
    expect(db.pool.get(garbage)).toBeUndefined()
    expect(db.pool.get(misfiled)).toBeUndefined()
    expect(db.pool.get(truncated)).toBeUndefined()
    expect(db.pool.getCount()).toBe(2)
  })

  it('backs a TxPool: what it acknowledged is restored after a restart', async () => {
    const txs = await Promise.all([makeTx({ fee: 10n, payloadBytes: 40_000 }), makeTx({ fee: 20n }), makeTx({ fee: 30n })])
    let db = await openDb()
    let pool = new TxPool({ store: new LmdbPoolStore(db) })
    const intake = new TxIntake({ pool, validator: new TxValidator() })
    for (const tx of txs) expect(await intake.submit(tx.bytes, { source: 'local' })).toMatchObject({ status: 'added' })
    await pool.stop()
    await db.close()

    db = await openDb()
    const store = new LmdbPoolStore(db)
    pool = new TxPool({ store })
    expect(await new TxIntake({ pool, validator: new TxValidator() }).restore()).toEqual({ restored: 3, dropped: 0 })
    expect([...pool.best()].map(e => e.hash)).toEqual([txs[2].hash, txs[1].hash, txs[0].hash])
    expect(await store.getBody(txs[0].hash)).toEqual(txs[0].bytes)
    await pool.stop()
  })

  it('survives SIGKILL: every write acknowledged before the kill is on disk', async () => {
    const child = spawn(join(process.cwd(), 'node_modules/.bin/node'), [join(import.meta.dirname, 'fixtures/crash-writer.ts'), dir], { stdio: ['ignore', 'pipe', 'inherit'] })
    const exited = new Promise<NodeJS.Signals | null>(resolve => child.on('exit', (_code, signal) => resolve(signal)))
    const acknowledged: string[] = []
    for await (const line of createInterface({ input: child.stdout })) {
      if (line === 'ready') continue
      acknowledged.push(line)
      if (acknowledged.length === 50) child.kill('SIGKILL')
    }
    expect(await exited).toBe('SIGKILL')
    expect(acknowledged.length).toBeGreaterThanOrEqual(50)

    const store = new LmdbPoolStore(await openDb('crashnet'))
    for (const [i, hash] of acknowledged.entries()) {
      const expected = crashRecord(i)
      expect(hash).toBe(expected.meta.hash)
      expect(await store.getBody(hash)).toEqual(expected.body)
    }
  })
})

describe('opening a data directory', () => {
  async function expectDataDirError (path: string, network: string, message: RegExp): Promise<void> {
    const err = await openDatabase({ path, network }).then(db => { opened.push(db) }, (e: unknown) => e)
    expect(err).toBeInstanceOf(DataDirError)
    expect((err as Error).message).toMatch(message)
  }

  it('records the network and schema, and refuses a directory of another network', async () => {
    const db = await openDb('devnet')
    await db.close()
    await expectDataDirError(dir, 'mainnet', /belongs to network "devnet", but this node runs network "mainnet"/)
    // the refused open left the directory usable
    await openDb('devnet')
  })

  it('refuses a newer or unknown schema version', async () => {
    await (await openDb()).close()
    const raw = open(dir, { overlappingSync: false })
    const meta = raw.openDB<string, string>('meta', { encoding: 'string' })
    meta.putSync('schemaVersion', String(SCHEMA_VERSION + 1))
    await raw.close()
    await expectDataDirError(dir, 'testnet', new RegExp(`newer lightpool \\(schema ${SCHEMA_VERSION + 1}; this version reads schema ${SCHEMA_VERSION}\\)`))

    const raw2 = open(dir, { overlappingSync: false })
    raw2.openDB<string, string>('meta', { encoding: 'string' }).putSync('schemaVersion', 'v1.0')
    await raw2.close()
    await expectDataDirError(dir, 'testnet', /unknown schema version "v1.0"/)
  })

  it('refuses an LMDB environment lightpool did not create', async () => {
    const raw = open(dir, { overlappingSync: false })
    raw.openDB('accounts', { encoding: 'json' }).putSync('alice', { balance: 1 })
    await raw.close()
    await expectDataDirError(dir, 'testnet', /did not create \(it contains accounts\)/)
  })

  it('refuses a regular file', async () => {
    const file = join(dir, 'not-a-dir')
    writeFileSync(file, 'hello')
    await expectDataDirError(file, 'testnet', /is a file, not a directory/)
  })

  it('refuses garbage or a truncated data.mdb instead of crashing', async () => {
    // lmdb-js itself dies with SIGSEGV on these (garbage) and SIGBUS (truncated)
    writeFileSync(join(dir, 'data.mdb'), randomBytes(20_000))
    await expectDataDirError(dir, 'testnet', /not an LMDB file/)
    writeFileSync(join(dir, 'data.mdb'), 'hello')
    await expectDataDirError(dir, 'testnet', /too short/)
    rmSync(join(dir, 'data.mdb'))

    const db = await openDb()
    await new LmdbPoolStore(db).write({ put: Array.from({ length: 100 }, () => record()), delete: [] })
    await db.close()
    truncateSync(join(dir, 'data.mdb'), 3 * 4096)
    await expectDataDirError(dir, 'testnet', /truncated/)
  })

  it('uses a path with a dot in it as a directory', async () => {
    const path = join(dir, 'lightpool.devnet')
    const store = new LmdbPoolStore(await openDb('devnet', path))
    await store.write({ put: [record()], delete: [] })
    expect(await all(store)).toHaveLength(1)
  })
})

import { BaseDatastore } from 'datastore-core'
import { Key, type Batch, type KeyQuery, type Pair, type Query } from 'interface-datastore'
import { NotFoundError } from 'interface-store'
import type { AbortOptions } from '@libp2p/interface'
import type { Database } from './database.ts'
import { writeAtomically } from './atomic-write.ts'
import { plain, rangePages } from './range-pages.ts'

const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder()

export interface LmdbDatastoreInit {
  /** Entries read per LMDB range read in queries. Default 128. */
  pageSize?: number
}

/**
 * libp2p's datastore (interface-datastore 10) on the `peers` sub-database, so
 * the peer store survives restarts: `createLibp2p({ datastore })`.
 *
 * Keys are stored as the UTF-8 bytes of `key.toString()` ("/peers/…"), so
 * LMDB's byte order is the keys' string order and a prefix query is a range
 * read that stops at the first key past the prefix. Semantics follow
 * datastore-core's MemoryDatastore: `get` of a missing key throws
 * interface-store's NotFoundError (libp2p tests `err.name`), `delete` of a
 * missing key is fine, an aborted signal throws before any work. Unlike
 * MemoryDatastore, get/has fail by rejecting rather than throwing
 * synchronously, which suits callers using `.catch()`. Filters,
 * orders, offset and limit come from BaseDatastore's query().
 *
 * Each put/delete is durable when it resolves (see ./database.ts); a batch
 * is one LMDB transaction, all or nothing. A put or delete that fails to
 * commit (a full disk) resolves anyway, see `write` below.
 */
export class LmdbDatastore extends BaseDatastore {
  private readonly database: Database
  private readonly pageSize: number

  constructor (database: Database, init: LmdbDatastoreInit = {}) {
    super()
    this.database = database
    this.pageSize = init.pageSize ?? 128
  }

  override async put (key: Key, val: Uint8Array, options?: AbortOptions): Promise<Key> {
    options?.signal?.throwIfAborted()
    this.refuseWhenClosed()
    await this.write('peer store put', async () => await this.database.peers.put(encodeKey(key), val))
    return key
  }

  /**
   * libp2p updates the peer store from connection-close events that can fire
   * after its stop() resolved, so after the database is closed. lmdb-js would
   * queue such a write and throw "The environment is already closed" from a
   * timer, uncaught, crashing the process; refused here, it is a rejected
   * promise that libp2p logs.
   */
  private refuseWhenClosed (): void {
    if (this.database.closed) throw new Error(`the peer store in ${this.database.path} is closed`)
  }

  override async get (key: Key, options?: AbortOptions): Promise<Uint8Array> {
    options?.signal?.throwIfAborted()
    const value = this.database.peers.get(encodeKey(key))
    if (value === undefined) throw new NotFoundError()
    return plain(value)
  }

  override async has (key: Key, options?: AbortOptions): Promise<boolean> {
    options?.signal?.throwIfAborted()
    return this.database.peers.doesExist(encodeKey(key))
  }

  override async delete (key: Key, options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    this.refuseWhenClosed()
    await this.write('peer store delete', async () => await this.database.peers.remove(encodeKey(key)))
  }

  /** Puts then deletes (BaseDatastore's order) in one LMDB transaction. */
  override batch (): Batch {
    const puts: Pair[] = []
    const dels: Key[] = []
    return {
      put: (key, value) => { puts.push({ key, value }) },
      delete: (key) => { dels.push(key) },
      commit: async (options) => {
        options?.signal?.throwIfAborted()
        this.refuseWhenClosed()
        const writes = puts.splice(0).map(({ key, value }) => [encodeKey(key), value] as const)
        const removals = dels.splice(0).map(encodeKey)
        const db = this.database.peers
        const ops = [...writes.map(([key, value]) => ({ key, value })), ...removals.map(key => ({ key }))]
        // a batch rejects (its callers await it); only single puts and deletes resolve on failure, see `write`
        await this.database.writes.run('peer store batch', async () => { await writeAtomically(db, ops) })
      }
    }
  }

  /**
   * A failed put or delete is counted by the Database's WriteGuard (the store
   * shows as failing) and then resolves, not rejects: libp2p's peer store
   * writes from event handlers that do not all handle a rejection (measured: one
   * damaged page of data.mdb killed the node with an unhandled "peer store put
   * failed"), and a peer record that was not saved costs at most a reconnect.
   */
  private async write (what: string, fn: () => Promise<unknown>): Promise<void> {
    await this.database.writes.run(what, fn).catch(() => {})
  }

  override * _all (q: Query, options?: AbortOptions): Generator<Pair> {
    for (const { key, value } of this.scan(q.prefix, options)) yield { key: decodeKey(key), value }
  }

  override * _allKeys (q: KeyQuery, options?: AbortOptions): Generator<Key> {
    for (const { key } of this.scan(q.prefix, options)) yield decodeKey(key)
  }

  /** Entries whose key string starts with `prefix`, in key order, read a page at a time. */
  private * scan (prefix: string | undefined, options?: AbortOptions): Generator<{ key: Uint8Array, value: Uint8Array }> {
    options?.signal?.throwIfAborted()
    const start = prefix === undefined || prefix === '' ? undefined : utf8.encode(prefix)
    for (const entry of rangePages(this.database.peers, { ...(start === undefined ? {} : { start }), pageSize: this.pageSize })) {
      // UTF-8 keeps string prefixes as byte prefixes, and keys are sorted, so the first miss ends the range
      if (start !== undefined && !startsWith(entry.key, start)) return
      yield entry
      options?.signal?.throwIfAborted()
    }
  }
}

function encodeKey (key: Key): Uint8Array {
  return utf8.encode(key.toString())
}

function decodeKey (bytes: Uint8Array): Key {
  // stored keys are already in Key's normal form; skip re-cleaning them
  return new Key(fromUtf8.decode(bytes), false)
}

function startsWith (bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.byteLength < prefix.byteLength) return false
  for (let i = 0; i < prefix.byteLength; i++) if (bytes[i] !== prefix[i]) return false
  return true
}

import { mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { open, type Database as LmdbDatabase, type RootDatabase, type RootDatabaseOptions } from 'lmdb'
import { freeSpaceCheck } from './free-space.ts'
import { inspectDataFile } from './lmdb-file.ts'
import { WriteGuard } from './write-guard.ts'

/**
 * The on-disk database of a Node full node: ONE LMDB environment in the data
 * directory, with named sub-databases
 *
 *   meta   schema version and network name (strings)
 *   pool   tx records, 32-byte hash → record (./pool-record.ts)
 *   peers  libp2p's datastore, UTF-8 key → bytes (./lmdb-datastore.ts)
 *
 * One environment, so one file, one lock and one write queue for everything
 * the node persists. The Database owns the environment: stores built on it
 * (LmdbPoolStore, LmdbDatastore) never close it; whoever opened it closes it
 * after stopping the node.
 */

/** Bump when the layout of any sub-database changes, and add a migration from the previous one. */
export const SCHEMA_VERSION = 1

/**
 * Environment settings. Everything that touches durability is spelled out,
 * even where it equals lmdb-js's default, so a later edit cannot weaken it
 * by accident.
 */
const ENV_OPTIONS: RootDatabaseOptions = {
  // The path is always a directory holding data.mdb and lock.mdb. lmdb-js
  // would otherwise take a path whose last part has a dot
  // ("~/lightpool.devnet") for a single file.
  noSubdir: false,
  // A resolved put/transaction promise must mean "on disk", because the pool
  // acknowledges and announces a tx only then. Plain LMDB commits do that: the
  // writer thread writes the pages, fdatasyncs, then writes the meta page
  // synchronously, and only then is the promise resolved.
  // overlappingSync (lmdb-js's default on Linux and macOS) resolves the promise
  // at commit and flushes afterwards: the data survives a killed process (the
  // OS page cache has it) but not a power cut or kernel panic. Off.
  overlappingSync: false,
  // Never skip the data or meta flush.
  noSync: false,
  noMetaSync: false,
  // Pages are written with pwrite, not through a writable map, so a stray
  // pointer in native code cannot scribble on the file.
  useWritemap: false,
  // Commit on the next turn of the event loop. The pool's StoreWriter already
  // coalesces bursts into one batch; waiting longer here would only delay every
  // acknowledgement. Writes queued before that commit still share one
  // transaction.
  commitDelay: 0,
  // Off, because with it on a failed commit (a full disk, an I/O error) kills
  // the process: lmdb-js opens each event turn's batch with an internal write
  // whose promise nobody holds, and rejects it too (measured on a full tmpfs:
  // an unhandled "Commit failed" after every refused write, even with every
  // write of ours handled). Off, writes are grouped by the commitDelay above,
  // and what a resolved promise means does not change. See ./write-guard.ts.
  eventTurnBatching: false,
  // meta, pool, peers, and room for a few more without reopening.
  maxDbs: 8,
  // Values are raw bytes whose format we own: no LZ4 (tx proofs barely
  // compress), no object cache.
  compression: false,
  cache: false
}

const OURS = new Set(['meta', 'pool', 'peers'])

/** A data directory lightpool cannot or must not use. The message says what is wrong and what to do. */
export class DataDirError extends Error {
  readonly path: string
  constructor (path: string, problem: string, remedy: string, options?: ErrorOptions) {
    super(`data directory ${path}: ${problem}. ${remedy}`, options)
    this.name = 'DataDirError'
    this.path = path
  }
}

const MOVE_ASIDE = 'Move it aside or choose another data directory; a new one starts empty (the pool refills from peers, the peer list from the bootnodes).'

export interface DatabaseInit {
  /** The data directory; created if missing. */
  path: string
  /** The network this node runs. A data directory belongs to one network. */
  network: string
  /** Writes that add data are refused while the disk has less free than this (see ./free-space.ts). Default 0: never. */
  minFreeBytes?: number
}

export class Database {
  readonly path: string
  readonly network: string
  /** Tx records: 32-byte hash → record. */
  readonly pool: LmdbDatabase<Uint8Array, Uint8Array>
  /** libp2p's datastore: UTF-8 key → bytes. */
  readonly peers: LmdbDatabase<Uint8Array, Uint8Array>
  /** Every write to `pool` and `peers` runs through it: a failed commit rejects that write only, and marks the store failing. */
  readonly writes = new WriteGuard()
  private readonly root: RootDatabase
  private closing: Promise<void> | undefined

  private constructor (path: string, network: string, root: RootDatabase) {
    this.path = path
    this.network = network
    this.root = root
    this.pool = root.openDB<Uint8Array, Uint8Array>('pool', { encoding: 'binary', keyEncoding: 'binary' })
    this.peers = root.openDB<Uint8Array, Uint8Array>('peers', { encoding: 'binary', keyEncoding: 'binary' })
  }

  /**
   * Opens (or creates) the database in `init.path`. Throws DataDirError for a
   * path that is not a directory, files that are not a sound LMDB environment,
   * an environment lightpool did not create, one of another network, or one of
   * an unknown or newer schema.
   */
  static async open (init: DatabaseInit): Promise<Database> {
    const { path, network } = init
    if (network.length === 0) throw new TypeError('network must be a non-empty name')
    prepareDirectory(path)
    const problem = inspectDataFile(join(path, 'data.mdb'))
    if (problem !== undefined) throw new DataDirError(path, problem, MOVE_ASIDE)

    let root: RootDatabase
    try {
      root = open(path, ENV_OPTIONS)
    } catch (err) {
      throw new DataDirError(path, `LMDB cannot open it (${(err as Error).message})`, MOVE_ASIDE, { cause: err })
    }
    try {
      checkOrInitMeta(path, network, root)
      const database = new Database(path, network, root)
      if ((init.minFreeBytes ?? 0) > 0) database.writes.spaceCheck = freeSpaceCheck(path, init.minFreeBytes!)
      return database
    } catch (err) {
      // `err` is the failure to report; a close that fails on a half-opened database adds nothing to it
      await root.close().catch(() => {})
      if (err instanceof DataDirError) throw err
      throw new DataDirError(path, `cannot read it (${(err as Error).message})`, MOVE_ASIDE, { cause: err })
    }
  }

  get closed (): boolean { return this.closing !== undefined }

  /** Waits for pending writes, then closes the environment. Idempotent. */
  async close (): Promise<void> {
    this.closing ??= this.root.close()
    await this.closing
  }
}

export async function openDatabase (init: DatabaseInit): Promise<Database> {
  return await Database.open(init)
}

/** Creates `path` if missing; DataDirError if it is a file or cannot be inspected or created. */
export function prepareDirectory (path: string): void {
  let isDirectory: boolean | undefined
  try {
    isDirectory = statSync(path).isDirectory()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new DataDirError(path, `cannot inspect it (${(err as Error).message})`, 'Check the path and its permissions.', { cause: err })
    }
  }
  if (isDirectory === false) throw new DataDirError(path, 'is a file, not a directory', 'Point the data directory at a directory; it is created if missing.')
  if (isDirectory === undefined) {
    try {
      mkdirSync(path, { recursive: true })
    } catch (err) {
      throw new DataDirError(path, `cannot create it (${(err as Error).message})`, 'Check the path and its permissions.', { cause: err })
    }
  }
}

/**
 * A fresh environment gets our schema version and network; an existing one
 * must carry exactly those. Runs before `pool` and `peers` are opened, because
 * a newer schema may have created them with flags this version would refuse.
 */
function checkOrInitMeta (path: string, network: string, root: RootDatabase): void {
  // named databases are the keys of LMDB's main database
  const names = [...root.getKeys()].map(String)
  if (!names.includes('meta') && names.length > 0) {
    throw new DataDirError(path, `holds an LMDB database lightpool did not create (it contains ${names.slice(0, 5).join(', ')})`,
      'Choose another data directory; lightpool does not write into databases it did not create.')
  }
  const meta = root.openDB<string, string>('meta', { encoding: 'string' })
  // one write transaction: the check and the first initialisation are atomic
  meta.transactionSync(() => {
    const version = meta.get('schemaVersion')
    const stored = meta.get('network')
    if (version === undefined && stored === undefined) {
      const foreign = names.filter(n => !OURS.has(n))
      if (foreign.length > 0) throw new DataDirError(path, `has no lightpool metadata but contains ${foreign.join(', ')}`, MOVE_ASIDE)
      meta.putSync('schemaVersion', String(SCHEMA_VERSION))
      meta.putSync('network', network)
      return
    }
    if (version === undefined || stored === undefined) {
      throw new DataDirError(path, 'its metadata is incomplete (schema version or network missing)', MOVE_ASIDE)
    }
    if (!/^[1-9][0-9]{0,8}$/.test(version)) {
      throw new DataDirError(path, `records an unknown schema version "${version}"`, MOVE_ASIDE)
    }
    if (Number(version) > SCHEMA_VERSION) {
      throw new DataDirError(path, `was written by a newer lightpool (schema ${version}; this version reads schema ${SCHEMA_VERSION})`,
        'Run a lightpool version that supports it, or choose another data directory. Do not downgrade in place.')
    }
    if (Number(version) < SCHEMA_VERSION) {
      // no older schema has shipped; the first layout change adds its migration here
      throw new DataDirError(path, `uses schema ${version}, which this version cannot migrate from`, MOVE_ASIDE)
    }
    if (stored !== network) {
      throw new DataDirError(path, `belongs to network "${stored}", but this node runs network "${network}"`,
        `Use one data directory per network: choose another directory for "${network}", or start the node for "${stored}".`)
    }
  })
}

import { Uint8ArrayList } from 'uint8arraylist'
import { ByteReader, ByteWriter, DecodeError } from '../codec/bytes.ts'
import { fromHex, toHex } from '../tx/hex.ts'
import { DEFAULT_TX_LIMITS, type TxLimits } from '../tx/limits.ts'
import { META_FIXED_BYTES, readMeta, writeMeta } from '../tx/meta-codec.ts'
import type { TxMeta } from '../tx/types.ts'

/**
 * Wire formats of lightpool's own messages. Each starts with a version byte
 * and decodes strictly (caps before allocation, no trailing bytes). Framing on
 * streams is unsigned-varint length prefixes (`lpStream`).
 */
export const WIRE_VERSION = 1

/** Which kind of object a fetch asks for. */
export const KIND_TX = 0
export const KIND_PROOF = 1
export type ObjectKind = typeof KIND_TX | typeof KIND_PROOF

function version (r: ByteReader, what: string): void {
  const v = r.u8(`${what}.version`)
  if (v !== WIRE_VERSION) throw new DecodeError(`${what}.version`, `unsupported version ${v}`)
}

// ---- tx announcement (gossip) ----

export function encodeTxAnnouncement (meta: TxMeta): Uint8Array {
  return writeMeta(new ByteWriter(1 + META_FIXED_BYTES + 32 * meta.nullifiers.length).u8(WIRE_VERSION), meta).finish()
}

export function decodeTxAnnouncement (bytes: Uint8Array, limits: TxLimits = DEFAULT_TX_LIMITS): TxMeta {
  const r = new ByteReader(bytes)
  version(r, 'announcement')
  const meta = readMeta(r, limits)
  r.end('announcement')
  return meta
}

// ---- fetch ----

export interface FetchRequest {
  kind: ObjectKind
  hashes: string[]
}

export const FETCH_MISSING = 0
export const FETCH_FOUND = 1
/** Not sent because the response reached its byte budget: ask again. */
export const FETCH_SKIPPED = 2

export function encodeFetchRequest (req: FetchRequest): Uint8Array {
  const w = new ByteWriter(4 + 32 * req.hashes.length).u8(WIRE_VERSION).u8(req.kind).u16(req.hashes.length)
  for (const h of req.hashes) w.bytes(fromHex(h))
  return w.finish()
}

export function decodeFetchRequest (bytes: Uint8Array, maxHashes: number): FetchRequest {
  const r = new ByteReader(bytes)
  version(r, 'fetch')
  const kind = r.u8('fetch.kind')
  if (kind !== KIND_TX && kind !== KIND_PROOF) throw new DecodeError('fetch.kind', `unknown kind ${kind}`)
  const count = r.count16('fetch.count', maxHashes)
  if (count === 0) throw new DecodeError('fetch.count', 'empty request')
  const hashes: string[] = []
  for (let i = 0; i < count; i++) hashes.push(toHex(r.bytes(32, 'fetch.hashes')))
  r.end('fetch')
  return { kind, hashes }
}

/** One response frame per requested hash, in request order. */
export type FetchItem = { status: typeof FETCH_FOUND, body: Uint8Array } | { status: typeof FETCH_MISSING | typeof FETCH_SKIPPED }

/** A frame as a list of parts: a served body is sent without being copied into a new buffer. */
export function encodeFetchItem (item: FetchItem): Uint8ArrayList {
  if (item.status !== FETCH_FOUND) return new Uint8ArrayList(Uint8Array.of(item.status))
  return new Uint8ArrayList(Uint8Array.of(FETCH_FOUND), item.body)
}

export function decodeFetchItem (frame: Uint8Array, maxBodyBytes: number): FetchItem {
  if (frame.byteLength === 0) throw new DecodeError('fetch.item', 'empty frame')
  const status = frame[0]
  if (status === FETCH_FOUND) {
    if (frame.byteLength - 1 > maxBodyBytes) throw new DecodeError('fetch.item', `body of ${frame.byteLength - 1} bytes exceeds the cap ${maxBodyBytes}`)
    return { status, body: frame.subarray(1) }
  }
  if ((status === FETCH_MISSING || status === FETCH_SKIPPED) && frame.byteLength === 1) return { status }
  throw new DecodeError('fetch.item', `bad status ${status} or length ${frame.byteLength}`)
}

// ---- sync ----

export interface SyncRequest {
  limit: number
  cursor?: string
}

export interface SyncEntry {
  meta: TxMeta
  /** whether the serving peer holds the body (light peers list announced-only txs too) */
  hasBody: boolean
}

export interface SyncPage {
  entries: SyncEntry[]
  next?: string
}

const MAX_CURSOR_BYTES = 96
const textEncoder = new TextEncoder()

function writeCursor (w: ByteWriter, cursor: string | undefined): void {
  const bytes = textEncoder.encode(cursor ?? '')
  if (bytes.byteLength > MAX_CURSOR_BYTES) throw new RangeError('cursor too long')
  w.u8(bytes.byteLength).bytes(bytes)
}

function readCursor (r: ByteReader, field: string): string | undefined {
  const len = r.u8(field)
  if (len > MAX_CURSOR_BYTES) throw new DecodeError(field, `${len} bytes exceeds the cap ${MAX_CURSOR_BYTES}`)
  if (len === 0) return undefined
  return r.utf8(len, field)
}

export function encodeSyncRequest (req: SyncRequest): Uint8Array {
  const w = new ByteWriter(4 + MAX_CURSOR_BYTES).u8(WIRE_VERSION).u16(req.limit)
  writeCursor(w, req.cursor)
  return w.finish()
}

export function decodeSyncRequest (bytes: Uint8Array): SyncRequest {
  const r = new ByteReader(bytes)
  version(r, 'sync')
  const limit = r.u16('sync.limit')
  const cursor = readCursor(r, 'sync.cursor')
  r.end('sync')
  return cursor === undefined ? { limit } : { limit, cursor }
}

export function encodeSyncPage (page: SyncPage): Uint8Array {
  const w = new ByteWriter(1024).u8(WIRE_VERSION).u16(page.entries.length)
  for (const e of page.entries) writeMeta(w.u8(e.hasBody ? 1 : 0), e.meta)
  writeCursor(w, page.next)
  return w.finish()
}

export function decodeSyncPage (bytes: Uint8Array, maxEntries: number, limits: TxLimits = DEFAULT_TX_LIMITS): SyncPage {
  const r = new ByteReader(bytes)
  version(r, 'syncPage')
  const count = r.count16('syncPage.count', maxEntries)
  const entries: SyncEntry[] = []
  for (let i = 0; i < count; i++) {
    const flags = r.u8('syncPage.flags')
    if (flags > 1) throw new DecodeError('syncPage.flags', `unknown flags ${flags}`)
    entries.push({ hasBody: flags === 1, meta: readMeta(r, limits) })
  }
  const next = readCursor(r, 'syncPage.cursor')
  r.end('syncPage')
  return next === undefined ? { entries } : { entries, next }
}

/** Bound on a sync page's encoding, used as the frame cap when reading one. */
export function maxSyncPageBytes (maxEntries: number, limits: TxLimits = DEFAULT_TX_LIMITS): number {
  return 4 + MAX_CURSOR_BYTES + maxEntries * (1 + META_FIXED_BYTES + 32 * limits.maxNullifiers)
}

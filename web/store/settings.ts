import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { openDB, type DBSchema, type IDBPDatabase } from 'idb'
import type { NodeMode } from '../../src/index.ts'

/**
 * Small things a tab keeps across reloads, in one IndexedDB database
 * ("lightpool", store "kv"):
 *
 *   settings                      { relays, network, mode } last used
 *   identity/<network>/<slot>     the tab's libp2p key (protobuf), so a
 *                                 reloaded tab keeps its peer id and the
 *                                 peers that know it can still reach it
 */
export interface Settings {
  relays: string[]
  network: string
  mode: NodeMode
}

interface KvDb extends DBSchema {
  kv: { key: string, value: unknown }
}

const DB_NAME = 'lightpool'
const DB_VERSION = 1

let opened: Promise<IDBPDatabase<KvDb>> | undefined

async function db (): Promise<IDBPDatabase<KvDb>> {
  opened ??= openDB<KvDb>(DB_NAME, DB_VERSION, {
    upgrade (db, oldVersion) {
      if (oldVersion < 1) db.createObjectStore('kv')
    },
    blocking (_current, _blocked, event) {
      (event.target as IDBDatabase).close()
      opened = undefined
    }
  })
  return await opened
}

async function get<T> (key: string): Promise<T | undefined> {
  return await (await db()).get('kv', key) as T | undefined
}

async function put (key: string, value: unknown): Promise<void> {
  const d = await db()
  const tx = d.transaction('kv', 'readwrite', { durability: 'strict' })
  await Promise.all([tx.store.put(value, key), tx.done])
}

function isSettings (v: unknown): v is Settings {
  const s = v as Partial<Settings> | undefined
  return typeof s === 'object' && s !== null && Array.isArray(s.relays) && s.relays.every(r => typeof r === 'string') &&
    typeof s.network === 'string' && (s.mode === 'light' || s.mode === 'full')
}

export async function loadSettings (): Promise<Settings | undefined> {
  try {
    const v = await get('settings')
    return isSettings(v) ? v : undefined
  } catch {
    return undefined
  }
}

export async function saveSettings (settings: Settings): Promise<void> {
  await put('settings', { relays: [...settings.relays], network: settings.network, mode: settings.mode })
}

/** The tab's libp2p key for this network and slot: loaded, or made and stored. Falls back to a fresh key if IndexedDB is unavailable. */
export async function loadOrCreateIdentity (network: string, slot: number): Promise<PrivateKey> {
  const key = `identity/${network}/${slot}`
  try {
    const stored = await get<Uint8Array>(key)
    if (stored instanceof Uint8Array) return privateKeyFromProtobuf(stored)
  } catch {
    // unreadable: make a new one below
  }
  const fresh = await generateKeyPair('Ed25519')
  try {
    await put(key, privateKeyToProtobuf(fresh))
  } catch {
    // private browsing without IndexedDB: the tab gets a new peer id per load
  }
  return fresh
}

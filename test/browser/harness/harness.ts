/**
 * The test harness page: puts lightpool's browser modules on `window.harness`
 * so tests (driven from Node through playwright) can call them in a real
 * Chromium. Built by test/helpers/browser.ts into test/output/harness.
 */
import { deleteDB, openDB } from 'idb'
import { multiaddr } from '@multiformats/multiaddr'
import { buildTx, Ed25519Signer } from '../../../src/tx/build.ts'
import { toHex } from '../../../src/tx/hex.ts'
import { encodeMeta } from '../../../src/tx/meta-codec.ts'
import { TxPool } from '../../../src/pool/pool.ts'
import type { StoredTx } from '../../../src/pool/store.ts'
import { createBrowserLightpool } from '../../../web/node.ts'
import { IdbPoolStore } from '../../../web/store/idb-pool-store.ts'
import { fromHex } from '../../../src/tx/hex.ts'

/** The `rank` key rows of schema v1 carried (fee u64 BE, then ¬hash), for building v1 databases in tests. */
function rankKey (fee: bigint, hash: string): ArrayBuffer {
  const out = new Uint8Array(40)
  new DataView(out.buffer).setBigUint64(0, fee)
  const h = fromHex(hash)
  for (let i = 0; i < 32; i++) out[8 + i] = ~h[i]! & 0xff
  return out.buffer
}

/** A stored record with random hash and nullifier: what the pool would write, without signing a tx. */
function record (fee: bigint, size: number, withBody: boolean, expiresAt = Date.now() + 600_000): StoredTx {
  const hash = toHex(crypto.getRandomValues(new Uint8Array(32)))
  const meta = { hash, size, fee, expiresAt, nullifiers: [toHex(crypto.getRandomValues(new Uint8Array(32)))] }
  const rec: StoredTx = { meta, receivedAt: Date.now() }
  if (withBody) rec.body = crypto.getRandomValues(new Uint8Array(size))
  return rec
}

async function collect (store: { entries: () => AsyncIterable<StoredTx> }): Promise<StoredTx[]> {
  const out: StoredTx[] = []
  for await (const r of store.entries()) out.push(r)
  return out
}

const harness = { createBrowserLightpool, IdbPoolStore, rankKey, TxPool, buildTx, Ed25519Signer, toHex, encodeMeta, openDB, deleteDB, record, collect, multiaddr }
;(globalThis as unknown as { harness: typeof harness }).harness = harness
export type Harness = typeof harness

/**
 * npm run bench:pool — pool operations at 10 000 pending, metadata path
 * (no bodies: they live in the store, and are not what this measures).
 *
 * Prints one JSON line for lightpool's TxPool and one for a naive baseline
 * (a Map with a linear scan for the worst tx) measured in the same run.
 *   admit_per_s  admissions while 10k are pending and there is room
 *   evict_per_s  admissions into a full pool (10k), each evicting the worst
 *   heap_bytes_per_tx  heap growth per pending tx's metadata, after GC
 */
import { randomBytes } from 'node:crypto'
import { TxPool, type PoolStore, type TxMeta } from '../../src/index.ts'
import { NaivePool } from './naive-pool.ts'

const POOL_SIZE = Number(process.env.POOL_SIZE ?? 10_000)
const OPS = Number(process.env.POOL_OPS ?? 50_000)
const NOW = Date.now()

function gc (): void {
  const g = (globalThis as { gc?: () => void }).gc
  if (g === undefined) throw new Error('run with node --expose-gc')
  g(); g()
}

let seq = 0
function makeMeta (fee: bigint): TxMeta {
  seq++
  return {
    hash: randomBytes(32).toString('hex'),
    size: 40_000,
    fee,
    expiresAt: NOW + 3_600_000 + (seq % 1000),
    nullifiers: [randomBytes(32).toString('hex'), randomBytes(32).toString('hex')]
  }
}

function randomFee (): bigint { return BigInt(1 + Math.floor(Math.random() * 1_000_000)) }

function rate (n: number, ms: number): number { return Math.round(n / (ms / 1000)) }

/** Stands for an on-disk store: what it persists is not on this heap. */
const offHeapStore: PoolStore = {
  write: async () => {},
  getBody: async () => undefined,
  entries: async function * () {},
  close: async () => {}
}

async function heapPerTx (): Promise<number> {
  gc()
  const before = process.memoryUsage().heapUsed
  const pool = new TxPool({ config: { maxCount: POOL_SIZE }, store: offHeapStore })
  for (let i = 0; i < POOL_SIZE; i++) void pool.add(makeMeta(randomFee()))
  await pool.flush()
  gc()
  const after = process.memoryUsage().heapUsed
  if (pool.size !== POOL_SIZE) throw new Error('pool did not fill')
  return Math.round((after - before) / POOL_SIZE)
}

async function benchLightpool (): Promise<Record<string, unknown>> {
  // admissions with room: 10k pending, cap high enough that nothing is evicted
  const roomy = new TxPool({ config: { maxCount: POOL_SIZE + OPS } })
  for (let i = 0; i < POOL_SIZE; i++) void roomy.add(makeMeta(randomFee()))
  const fresh = Array.from({ length: OPS }, () => makeMeta(randomFee()))
  let t = performance.now()
  for (const m of fresh) void roomy.add(m)
  const admitMs = performance.now() - t

  // admissions into a full pool: every one evicts the current worst
  const full = new TxPool({ config: { maxCount: POOL_SIZE } })
  for (let i = 0; i < POOL_SIZE; i++) void full.add(makeMeta(BigInt(1_000 + i)))
  const better = Array.from({ length: OPS }, (_, i) => makeMeta(BigInt(1_000_000 + i)))
  let evicted = 0
  full.events.on('removed', () => { evicted++ })
  t = performance.now()
  for (const m of better) void full.add(m)
  const evictMs = performance.now() - t
  if (evicted !== OPS || full.size !== POOL_SIZE) throw new Error(`expected ${OPS} evictions, got ${evicted}`)

  await Promise.all([roomy.flush(), full.flush()])
  return { admit_per_s: rate(OPS, admitMs), evict_per_s: rate(evicted, evictMs) }
}

function benchBaseline (): Record<string, unknown> {
  const ops = Math.min(OPS, 5_000) // the baseline is O(n) per eviction; fewer ops keep the run short
  const roomy = new NaivePool(POOL_SIZE + ops)
  for (let i = 0; i < POOL_SIZE; i++) roomy.add(makeMeta(randomFee()))
  const fresh = Array.from({ length: ops }, () => makeMeta(randomFee()))
  let t = performance.now()
  for (const m of fresh) roomy.add(m)
  const admitMs = performance.now() - t
  const full = new NaivePool(POOL_SIZE)
  for (let i = 0; i < POOL_SIZE; i++) full.add(makeMeta(BigInt(1_000 + i)))
  const better = Array.from({ length: ops }, (_, i) => makeMeta(BigInt(1_000_000 + i)))
  t = performance.now()
  for (const m of better) full.add(m)
  const evictMs = performance.now() - t
  return { admit_per_s: rate(ops, admitMs), evict_per_s: rate(ops, evictMs) }
}

// warm up the JIT on both before measuring
await benchLightpool()
benchBaseline()
const lightpool = await benchLightpool()
console.log(JSON.stringify({ bench: 'pool', impl: 'lightpool', pool_size: POOL_SIZE, ...lightpool, heap_bytes_per_tx: await heapPerTx() }))
console.log(JSON.stringify({ bench: 'pool', impl: 'baseline-naive-map', pool_size: POOL_SIZE, ...benchBaseline() }))

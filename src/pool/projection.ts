/**
 * What comes next, from the pending pool alone: the txs a sequencer that
 * picks the best by fee would put in each of the next K rollups, and the fee
 * a new tx needs to be among them.
 *
 * The model is deliberately simple and the same everywhere (the node's
 * `pool_feeEstimate`, the page, the widget, the library), so every view of a
 * pool agrees:
 *
 * - txs are taken in the pool's rank order (fee, then the smaller hash:
 *   `compareRank`), best first;
 * - a rollup holds at most `maxTxs` txs and `maxBytes` bytes; the first tx
 *   that does not fit closes it and opens the next (next-fit: a sequencer
 *   fills a rollup in fee order and seals it, it does not go back to pack
 *   gaps with cheaper txs);
 * - a tx larger than `maxBytes` fits no rollup and is skipped;
 * - pending txs never conflict (the pool keeps one tx per nullifier), so no
 *   conflict check is needed.
 *
 * Nothing here is a prediction of arrivals: it is the pool as it stands.
 * Cost: one walk of at most K × maxTxs of the best txs (plus one).
 */
import { DEFAULT_TX_LIMITS, maxTxBytes } from '../tx/limits.ts'

export interface RollupConfig {
  /** How many rollups ahead to project (K). Default 6. */
  rollups: number
  /**
   * Most txs in one rollup. Default 1000: with 40 KB txs the byte cap binds
   * first; the count cap matters for pools of small txs.
   */
  maxTxs: number
  /**
   * Most bytes (sum of encoded tx sizes) in one rollup. Default 4 MiB: about
   * 100 typical 40 KB txs, so 6 rollups are ~6 s of traffic at the network's
   * design rate of 100 tx/s. At least one tx of the largest allowed size.
   */
  maxBytes: number
}

export const DEFAULT_ROLLUP_CONFIG: Readonly<RollupConfig> = Object.freeze({
  rollups: 6,
  maxTxs: 1000,
  maxBytes: Math.max(4 * 1024 * 1024, maxTxBytes(DEFAULT_TX_LIMITS))
})

/** What the projection reads of a pending tx (a `PoolEntry` is one). */
export interface RankedTx {
  readonly hash: string
  readonly fee: bigint
  readonly size: number
}

export interface ProjectedRollup {
  /** 0 = the next rollup. */
  index: number
  txs: number
  bytes: number
  /** Lowest and highest fee in it; undefined when empty. */
  minFee: bigint | undefined
  maxFee: bigint | undefined
  /** True when the next tx in line did not fit: the rollup is sealed with what it holds. */
  full: boolean
}

export interface FeeEstimate {
  /** The size of tx the estimate is for, in bytes. */
  size: number
  /**
   * `byRollup[k]`: the lowest fee at which a tx of `size` bytes lands in one
   * of the rollups 0..k. Never below `floor`. Undefined when no fee can
   * (the tx is larger than a rollup).
   */
  byRollup: Array<bigint | undefined>
  /** `byRollup[0]`. */
  nextRollup: bigint | undefined
  /** `byRollup[K - 1]`. */
  withinRollups: bigint | undefined
  /** The lowest fee the pool admits now (its fee floor). */
  floor: bigint
}

/** A rollup configuration from defaults and overrides, checked: every field a positive safe integer. */
export function rollupConfig (overrides: Partial<RollupConfig> = {}): Readonly<RollupConfig> {
  const config = { ...DEFAULT_ROLLUP_CONFIG, ...overrides }
  for (const key of ['rollups', 'maxTxs', 'maxBytes'] as const) {
    const v = config[key]
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`rollup config: ${key} must be a positive integer, got ${String(v)}`)
  }
  return Object.freeze(config)
}

/** Next-fit state over a prefix of the ranked txs. */
interface Fill { index: number, txs: number, bytes: number }

function fits (fill: Fill, size: number, config: Readonly<RollupConfig>): boolean {
  return fill.txs < config.maxTxs && fill.bytes + size <= config.maxBytes
}

/** Places a tx of `size` after `fill`: returns the rollup it lands in and updates `fill`. */
function place (fill: Fill, size: number, config: Readonly<RollupConfig>): number {
  if (!fits(fill, size, config)) {
    fill.index++
    fill.txs = 0
    fill.bytes = 0
  }
  fill.txs++
  fill.bytes += size
  return fill.index
}

/**
 * The next `config.rollups` rollups, filled from `ranked` (best first, as
 * `TxPool.best()` yields). Empty rollups are included, so there are always K.
 */
export function projectRollups (ranked: Iterable<RankedTx>, overrides: Partial<RollupConfig> = {}): ProjectedRollup[] {
  const config = rollupConfig(overrides)
  const out: ProjectedRollup[] = Array.from({ length: config.rollups }, (_, index) => ({ index, txs: 0, bytes: 0, minFee: undefined, maxFee: undefined, full: false }))
  const fill: Fill = { index: 0, txs: 0, bytes: 0 }
  for (const tx of ranked) {
    if (tx.size > config.maxBytes) continue
    const before = fill.index
    const k = place(fill, tx.size, config)
    if (k !== before) out[before]!.full = true
    if (k >= config.rollups) break
    const r = out[k]!
    r.txs++
    r.bytes += tx.size
    // best first: the first tx is the dearest, each later one the cheapest so far
    if (r.maxFee === undefined) r.maxFee = tx.fee
    r.minFee = tx.fee
  }
  return out
}

/**
 * The fee a new tx of `size` bytes needs to land in each of the next K
 * rollups. A new tx of fee f goes after every pending tx of fee ≥ f (ties
 * are decided by hash, which the sender does not choose, so a tie is counted
 * as lost) and before every tx of fee < f; it then takes its place in the
 * next-fit filling. So the estimate for rollup k is one more than the fee of
 * the first pending tx it must outrank, or the floor if it need outrank none.
 */
export function estimateFees (ranked: Iterable<RankedTx>, opts: { size: number, floor: bigint } & Partial<RollupConfig>): FeeEstimate {
  const { size, floor, ...overrides } = opts
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`fee estimate: size must be a positive integer, got ${String(size)}`)
  const config = rollupConfig(overrides)
  const K = config.rollups
  const byRollup: Array<bigint | undefined> = new Array<bigint | undefined>(K).fill(undefined)
  const atLeast = (fee: bigint): bigint => fee > floor ? fee : floor
  if (size <= config.maxBytes) {
    // L(p): the rollup the new tx lands in when placed after the first p txs.
    // L is non-decreasing in p; for rollup k the new tx must go before the
    // first tx t_p with L(p + 1) > k, i.e. pay more than the tx before which
    // L first exceeds k.
    let settled = 0
    let prev: RankedTx | undefined
    const fill: Fill = { index: 0, txs: 0, bytes: 0 }
    const landsAt = (): number => fits(fill, size, config) ? fill.index : fill.index + 1
    const settleBelow = (lands: number): void => {
      // L(p) > k for k < lands: placed after `prev`, it misses rollup k, so it must outrank `prev`
      for (; settled < K && settled < lands; settled++) byRollup[settled] = atLeast(prev!.fee + 1n)
    }
    for (const tx of ranked) {
      if (tx.size > config.maxBytes) continue
      settleBelow(landsAt())
      if (settled >= K) break
      place(fill, tx.size, config)
      prev = tx
    }
    if (settled < K) settleBelow(landsAt())
    // the rollups it reaches even behind every pending tx: the floor is enough
    for (let k = settled; k < K; k++) byRollup[k] = floor
  }
  return { size, byRollup, nextRollup: byRollup[0], withinRollups: byRollup[K - 1], floor }
}

/**
 * The size of tx a fee estimate is for when the caller names none: 40 000
 * bytes, the network's typical tx (~8 KB of public data + ~32 KB of proof).
 */
export const DEFAULT_ESTIMATE_TX_BYTES = 40_000

export interface PoolForecast {
  config: Readonly<RollupConfig>
  rollups: ProjectedRollup[]
  estimate: FeeEstimate
}

/**
 * The projected rollups and the fee estimate of a pool, as the node's
 * `pool_feeEstimate`, the page and the widget show them: one function, so
 * they agree. `pool` is a `TxPool` (anything with `best()` and `feeFloor()`).
 */
export function forecast (pool: { best: () => Iterable<RankedTx>, feeFloor: () => bigint }, opts: Partial<RollupConfig> & { size?: number } = {}): PoolForecast {
  const { size = DEFAULT_ESTIMATE_TX_BYTES, ...overrides } = opts
  const config = rollupConfig(overrides)
  return {
    config,
    rollups: projectRollups(pool.best(), config),
    estimate: estimateFees(pool.best(), { ...config, size, floor: pool.feeFloor() })
  }
}

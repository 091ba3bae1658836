import { openDB, type DBSchema, type IDBPDatabase } from 'idb'

/**
 * The pool's history as this browser saw it — pending count, pending bytes,
 * arrival rate — in IndexedDB, so a reload keeps the chart. One database
 * per network, `lightpool-<network>-history`, two stores:
 *
 *   fine     one sample per `fineStepMs` (10 s), the last hour
 *   coarse   one sample per `coarseStepMs` (5 min), the last 24 h
 *
 * A sample's key is the start of its step (unix ms), so two tabs of one
 * network writing the same step overwrite each other instead of doubling it,
 * and a sample is a few dozen bytes: ~650 rows in all, whatever the rate.
 */
export interface HistorySample {
  /** Start of the step, unix ms. */
  t: number
  /** Pending txs at the end of the step. */
  count: number
  /** Pending bytes at the end of the step. */
  bytes: number
  /** Txs admitted per second, averaged over the step. */
  rate: number
}

export interface HistoryConfig {
  /** Step of the last-hour series, in ms. Default 10 000. */
  fineStepMs: number
  /** How far back the fine series goes, in ms. Default 1 h. */
  fineKeepMs: number
  /** Step of the last-day series, in ms. Default 300 000 (5 min). */
  coarseStepMs: number
  /** How far back the coarse series goes, in ms. Default 24 h. */
  coarseKeepMs: number
}

export const DEFAULT_HISTORY_CONFIG: Readonly<HistoryConfig> = Object.freeze({
  fineStepMs: 10_000,
  fineKeepMs: 3_600_000,
  coarseStepMs: 300_000,
  coarseKeepMs: 86_400_000
})

export type Series = 'fine' | 'coarse'

interface HistoryDb extends DBSchema {
  fine: { key: number, value: HistorySample }
  coarse: { key: number, value: HistorySample }
}

export class HistoryStore {
  readonly name: string
  private readonly db: Promise<IDBPDatabase<HistoryDb>>

  constructor (network: string) {
    this.name = `lightpool-${network}-history`
    this.db = openDB<HistoryDb>(this.name, 1, {
      upgrade (db, oldVersion) {
        if (oldVersion < 1) {
          db.createObjectStore('fine', { keyPath: 't' })
          db.createObjectStore('coarse', { keyPath: 't' })
        }
      }
    })
  }

  /** Writes a sample and drops the ones older than `keepMs` before it, in one transaction. */
  async put (series: Series, sample: HistorySample, keepMs: number): Promise<void> {
    const db = await this.db
    const tx = db.transaction(series, 'readwrite')
    await Promise.all([
      tx.store.put(sample),
      tx.store.delete(IDBKeyRange.upperBound(sample.t - keepMs, true)),
      tx.done
    ])
  }

  /** The samples of a series from `since` on, oldest first. */
  async range (series: Series, since: number): Promise<HistorySample[]> {
    return await (await this.db).getAll(series, IDBKeyRange.lowerBound(since))
  }

  async close (): Promise<void> {
    (await this.db).close()
  }
}

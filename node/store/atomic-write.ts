import type { Database as LmdbDatabase } from 'lmdb'

/** One change: put `value` under `key`, or remove `key` when value is undefined. */
export interface WriteOp { key: Uint8Array, value?: Uint8Array }

/**
 * Applies `ops` in order in one LMDB write transaction, all or nothing;
 * resolves once the commit is flushed.
 *
 * Not a child transaction, although that is lmdb-js's way to roll back a
 * callback that throws: when LMDB itself fails under a child (a damaged page,
 * a full disk), lmdb-js's abort of the child throws inside its writer, and
 * the process dies of an unhandled rejection (measured: random bytes over one
 * leaf page of data.mdb, then the first pool_sendTx). A plain transaction
 * keeps what its callback wrote before a throw, so the callback undoes its
 * own changes before rethrowing: each key's old value is read first (in the
 * write transaction) and put back. When LMDB has failed the transaction, the
 * undo fails too, but then LMDB refuses the commit as a whole.
 */
export async function writeAtomically (db: LmdbDatabase<Uint8Array, Uint8Array>, ops: readonly WriteOp[]): Promise<void> {
  await db.transaction(() => {
    const undo: Array<{ key: Uint8Array, old: Uint8Array | undefined }> = []
    try {
      for (const { key, value } of ops) {
        undo.push({ key, old: db.getBinary(key) ?? undefined })
        if (value === undefined) db.removeSync(key)
        else db.putSync(key, value)
      }
    } catch (err) {
      for (const { key, old } of undo.reverse()) {
        try {
          if (old === undefined) db.removeSync(key)
          else db.putSync(key, old)
        } catch {
          // LMDB failed the transaction: it will not commit
        }
      }
      throw err
    }
  })
}

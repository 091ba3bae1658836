import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { DataDirError } from './store/database.ts'

/**
 * One node per data directory: LMDB would let two processes share the
 * environment, and two nodes would then fight over one pool. The lock file
 * holds the owner's pid; a lock whose process is gone (kill -9) is stale and
 * taken over.
 */
export const LOCK_FILE = 'node.lock'

export function lockDataDir (dataDir: string): () => void {
  const path = join(dataDir, LOCK_FILE)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600)
      writeSync(fd, String(process.pid))
      closeSync(fd)
      return () => { try { unlinkSync(path) } catch {} }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new DataDirError(dataDir, `cannot create ${LOCK_FILE} (${(err as Error).message})`, 'Check the permissions of the data directory.', { cause: err })
      }
      const owner = Number(readFileSync(path, 'utf8').trim())
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new DataDirError(dataDir, `is in use by another lightpool node (pid ${owner})`, 'Stop that node, or give this one its own --data-dir.')
      }
      unlinkSync(path) // stale: its owner is gone
    }
  }
  throw new DataDirError(dataDir, `cannot take ${LOCK_FILE}`, 'Remove it if no lightpool node is running.')
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

import { createHash } from 'node:crypto'
import { closeSync, lstatSync, openSync, readFileSync, realpathSync, unlinkSync, writeSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { platform } from 'node:os'
import { join } from 'node:path'
import { DataDirError } from './store/database.ts'

/**
 * One node per data directory: LMDB would let two processes share the
 * environment, and two nodes would then fight over one pool.
 *
 * On Linux the lock is the kernel's: a Unix socket in the abstract namespace
 * named after the data directory's real path. Binding it is atomic, a second
 * bind fails with EADDRINUSE, and the kernel frees it the moment its process
 * dies, however it dies — nothing on disk to go stale, so no reused PID can
 * keep a node from starting (measured with the PID file this replaced: a
 * node.lock naming a live unrelated process refused every start), and
 * nothing to write on a full disk. Abstract names are per network namespace:
 * two nodes in different namespaces are not kept from one data directory.
 *
 * Elsewhere (macOS, Windows) it falls back to a PID file, `node.lock`, taken
 * over when its process is gone.
 */
const LOCK_FILE = 'node.lock'

const IN_USE = 'Stop that node, or give this one its own --data-dir.'

export async function lockDataDir (dataDir: string): Promise<() => Promise<void>> {
  if (platform() === 'linux') return await socketLock(dataDir)
  return pidFileLock(dataDir)
}

async function socketLock (dataDir: string): Promise<() => Promise<void>> {
  const digest = createHash('sha256').update(realpathSync(dataDir)).digest('hex').slice(0, 32)
  const server: Server = createServer(socket => { socket.destroy() })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new DataDirError(dataDir, 'is in use by another lightpool node', IN_USE))
      else reject(new DataDirError(dataDir, `cannot take its lock (${err.message})`, 'Report this; it should not happen on Linux.', { cause: err }))
    })
    server.listen({ path: `\0lightpool-data-dir-${digest}` }, () => { resolve() })
  })
  server.unref() // the lock must not keep the process alive
  return async () => { await new Promise<void>(resolve => { server.close(() => { resolve() }) }) }
}

function pidFileLock (dataDir: string): () => Promise<void> {
  const path = join(dataDir, LOCK_FILE)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600)
      writeSync(fd, String(process.pid))
      closeSync(fd)
      // already gone (removed by hand): the lock is released either way
      return async () => { try { unlinkSync(path) } catch {} }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new DataDirError(dataDir, `cannot create ${LOCK_FILE} (${(err as Error).message})`, 'Check the permissions of the data directory.', { cause: err })
      }
      if (!lstatSync(path).isFile()) throw new DataDirError(dataDir, `${LOCK_FILE} is not a file`, `Remove ${path} if no lightpool node is running.`)
      const owner = Number(readFileSync(path, 'utf8').trim())
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new DataDirError(dataDir, `is in use by another lightpool node (pid ${owner})`, IN_USE)
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

import { statfsSync } from 'node:fs'

const MiB = 1024 * 1024

/**
 * A check for the WriteGuard: the reason to refuse a write that adds data
 * while the filesystem holding `path` has less than `minFreeBytes` free to
 * unprivileged users, or undefined. Why refuse before the disk is full:
 * lmdb-js 3.5.6 (the newest) corrupts its own heap when a page write meets
 * ENOSPC — measured here, a node that then shut down cleanly died of SIGABRT
 * ("corrupted size vs. prev_size") after its last log line, two CI runs in
 * ten — and LMDB then has no room to commit the deletes that would free
 * space. A statfs that fails (the path is gone, an exotic filesystem) refuses
 * nothing: the write itself then says what is wrong.
 */
export function freeSpaceCheck (path: string, minFreeBytes: number): () => string | undefined {
  return () => {
    let free: number
    try {
      const s = statfsSync(path)
      free = Number(s.bavail) * Number(s.bsize)
    } catch {
      return undefined
    }
    if (free >= minFreeBytes) return undefined
    return `only ${(free / MiB).toFixed(1)} MiB free on the data directory's disk, below --store-min-free-mb ${Math.round(minFreeBytes / MiB)}`
  }
}

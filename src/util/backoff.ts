/**
 * Exponential backoff, the one implementation: `baseMs` after the first
 * failure, doubling per further failure, never above `maxMs`. Used by the
 * peer keeper (src/net/peer-keeper.ts) and the browser's relay keeping and
 * WebRTC upgrade (web/connectivity/).
 */
export function backoffDelay (failures: number, baseMs: number, maxMs: number): number {
  if (failures <= 0) return 0
  return Math.min(maxMs, baseMs * 2 ** (failures - 1))
}

/** ±`spread` random jitter (default 20 %), so peers that failed together do not retry in lockstep. */
export function jittered (ms: number, spread = 0.2): number {
  return Math.round(ms * (1 - spread + Math.random() * 2 * spread))
}

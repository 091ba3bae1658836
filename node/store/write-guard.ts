import { StoreWriteError } from '../../src/index.ts'

/**
 * Every write to the node's LMDB environment goes through one WriteGuard, for
 * two reasons.
 *
 * 1. lmdb-js reports a failed commit (a full disk, an I/O error, a damaged
 *    page) twice: each write of the transaction rejects with "Commit failed",
 *    and that error carries `commitError`, a second promise that lmdb-js
 *    rejects with the real cause. Nobody handles the second one unless asked
 *    to, so the process dies of an unhandled rejection — measured here: the
 *    first tx refused on a full tmpfs, then exit 1, on every restart. The
 *    guard handles both and rethrows one StoreWriteError naming the cause.
 * 2. It keeps the store's health for /health and /metrics: failing from a
 *    failed commit until a commit succeeds FAILING_HOLD_MS after the last
 *    failure (or /health is asked then).
 * 3. With a `spaceCheck` (./free-space.ts), it refuses a write that adds data
 *    while the disk is nearly full, before LMDB meets ENOSPC; such a refusal
 *    counts as a failed write.
 */
export interface StoreHealth {
  status: 'ok' | 'failing'
  /** Commits that failed since the node started. */
  failedWrites: number
  /** The cause of the latest failure, while failing. */
  lastError?: string
  /** Unix ms of the latest failure, while failing. */
  failingSince?: number
}

/**
 * How long the store counts as failing after its latest failed commit, even if
 * a smaller write has succeeded since: on a full disk, deletes and small
 * writes land while every tx is refused, and /health must not flap to ok.
 */
const FAILING_HOLD_MS = 60_000

/** How long to wait for lmdb-js's second promise to tell the real cause of a failed commit. */
const CAUSE_WAIT_MS = 100

export class WriteGuard {
  private readonly holdMs: number
  /** Called when the store starts failing (with the cause) and when it recovers: one log line per change, not per write. */
  onChange: (health: StoreHealth) => void = () => {}
  /** Why a write that adds data must not start now, or undefined. Default: never. */
  spaceCheck: () => string | undefined = () => undefined
  private failedWrites = 0
  private lastError: string | undefined
  private failingSince: number | undefined
  private lastFailureAt = -Infinity

  /** `holdMs`: see FAILING_HOLD_MS. */
  constructor (holdMs = FAILING_HOLD_MS) {
    this.holdMs = holdMs
  }

  health (): StoreHealth {
    if (this.lastError !== undefined && Date.now() - this.lastFailureAt >= this.holdMs) this.recovered()
    if (this.lastError === undefined) return { status: 'ok', failedWrites: this.failedWrites }
    return { status: 'failing', failedWrites: this.failedWrites, lastError: this.lastError, failingSince: this.failingSince! }
  }

  /**
   * Runs one write; rejects with StoreWriteError if its commit fails, or
   * before it starts if it adds data (`grows`, the default; a batch of deletes
   * only does not) and the space check refuses. `what` names it in the error.
   */
  async run<T> (what: string, write: () => Promise<T>, opts: { grows?: boolean } = {}): Promise<T> {
    const refusal = opts.grows === false ? undefined : this.spaceCheck()
    if (refusal !== undefined) {
      this.failed(refusal)
      throw new StoreWriteError(`${what} refused: ${refusal}`)
    }
    let result: T
    try {
      result = await write()
    } catch (err) {
      const cause = await commitCause(err)
      this.failed(cause)
      throw new StoreWriteError(`${what} failed: ${cause}`, { cause: err })
    }
    if (this.lastError !== undefined && Date.now() - this.lastFailureAt >= this.holdMs) this.recovered()
    return result
  }

  private failed (cause: string): void {
    this.failedWrites++
    const started = this.lastError === undefined
    this.lastError = cause
    this.failingSince ??= Date.now()
    this.lastFailureAt = Date.now()
    if (started) this.onChange(this.health())
  }

  private recovered (): void {
    this.lastError = undefined
    this.failingSince = undefined
    this.onChange(this.health())
  }
}

/** The real reason of a failed lmdb-js commit, having handled every promise it comes with. */
async function commitCause (err: unknown): Promise<string> {
  const second = (err as { commitError?: unknown } | null)?.commitError
  if (!(second instanceof Promise)) return (err as Error)?.message ?? String(err)
  let timer: ReturnType<typeof setTimeout> | undefined
  const reason = await Promise.race([
    second.then(() => undefined, (cause: unknown) => (cause as Error)?.message ?? String(cause)),
    new Promise<undefined>(resolve => { timer = setTimeout(() => { resolve(undefined) }, CAUSE_WAIT_MS) })
  ])
  clearTimeout(timer)
  return reason ?? (err as Error).message
}

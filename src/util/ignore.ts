import type { Logger } from '@libp2p/interface'

/**
 * An error ignored on purpose, said so: the rejection handler for a step whose
 * failure changes nothing (closing a stream the peer already dropped, a
 * best-effort tag), which logs at debug what was being done and the error, so
 * that it is not silent to someone looking.
 *
 *   await stream.close().catch(ignoreError(stream.log, 'closing an ended fetch stream'))
 *
 * Where no logger is at hand, an empty handler with a comment saying why the
 * error cannot matter does the same job.
 */
export function ignoreError (log: Logger, doing: string): (err: unknown) => void {
  return (err) => { log('%s failed (ignored): %e', doing, err) }
}

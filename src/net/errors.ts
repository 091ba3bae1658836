/** A length-prefixed frame over its cap (the errors of it-length-prefixed / @libp2p/utils). */
export function isOversized (err: unknown): boolean {
  const name = (err as Error | undefined)?.name
  return name === 'InvalidDataLengthError' || name === 'InvalidMessageLengthError' || name === 'InvalidDataLengthLengthError'
}

/** The peer let a deadline pass (a read or a request timed out). */
export function isTimeout (err: unknown): boolean {
  const name = (err as Error | undefined)?.name
  return name === 'TimeoutError' || name === 'AbortError'
}

/**
 * The stream ended under a read or write: the remote closed or reset it, or
 * the connection or its muxer went away. Not the peer's fault, so it costs
 * nobody; one list, so every protocol agrees on what an end is.
 */
export function isStreamEnd (err: unknown): boolean {
  const name = (err as Error | undefined)?.name
  return name === 'UnexpectedEOFError' || name === 'StreamResetError' || name === 'StreamStateError' ||
    name === 'StreamClosedError' || name === 'StreamAbortedError' || name === 'ConnectionClosedError' || name === 'MuxerClosedError'
}

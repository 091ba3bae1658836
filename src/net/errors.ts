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

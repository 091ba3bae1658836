/**
 * JSON-RPC error codes: the standard ones (-32700…-32603) and lightpool's own
 * (-32001…-32099, the range JSON-RPC 2.0 reserves for servers). The table a
 * client reads is at the top of ./methods.ts.
 */
export const PARSE_ERROR = -32700
export const INVALID_REQUEST = -32600
export const METHOD_NOT_FOUND = -32601
export const INVALID_PARAMS = -32602
export const INTERNAL_ERROR = -32603

/** The tx broke a rule every honest node applies (malformed, too large, bad signature): do not resend it. */
export const TX_REJECTED = -32001
/** The tx is valid but not admitted here now (duplicate, fee below floor, pool full, expired…): it may be resent later or elsewhere. */
export const TX_IGNORED = -32002
/** The method exists but not on this transport (subscriptions over HTTP). */
export const UNSUPPORTED_TRANSPORT = -32004
/** Too many requests from this client's IP in the last second. */
export const RATE_LIMITED = -32005
/** The request is over one of the server's limits (body size, batch length, nesting depth, subscriptions). */
export const LIMIT_EXCEEDED = -32006
/** The client did not send its whole request in time. */
export const REQUEST_TIMEOUT = -32007

/** The node could not store the tx (full disk, I/O error): it was not accepted; the node keeps serving. Try again later or elsewhere. */
export const STORE_FAILED = -32008

/** An error a method throws to answer with that code; any other thrown error becomes -32603 without detail. */
export class RpcError extends Error {
  readonly code: number
  readonly data: unknown

  constructor (code: number, message: string, data?: unknown) {
    super(message)
    this.name = 'RpcError'
    this.code = code
    this.data = data
  }
}

export function invalidParams (message: string): RpcError {
  return new RpcError(INVALID_PARAMS, `invalid params: ${message}`)
}

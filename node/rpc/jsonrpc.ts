/**
 * JSON-RPC 2.0 envelopes, independent of transport: one text message in
 * (a single request or a batch), at most one JSON value out.
 *
 *   text ─► depth check on the raw text ─► JSON.parse ─► batch length ─►
 *           rate limit (each entry counts) ─► per entry, in order: envelope
 *           check, method lookup, call ─► responses (none for notifications)
 *
 * Order matters: the depth check runs before anything trusts the parsed
 * value, so a `[[[[…` a hundred thousand deep is refused by a linear scan.
 */
import {
  INTERNAL_ERROR, INVALID_REQUEST, LIMIT_EXCEEDED, METHOD_NOT_FOUND, PARSE_ERROR, RATE_LIMITED, RpcError
} from './errors.ts'

export type JsonRpcId = string | number | null
export type RawParams = unknown[] | Record<string, unknown> | undefined

export interface JsonRpcErrorObject {
  code: number
  message: string
  data?: unknown
}

export type JsonRpcResponse =
  | { jsonrpc: '2.0', id: JsonRpcId, result: unknown }
  | { jsonrpc: '2.0', id: JsonRpcId, error: JsonRpcErrorObject }

/** A method: takes the raw params (positional or named) and returns a JSON-serializable result, or throws RpcError. */
export type MethodHandler<Ctx> = (params: RawParams, ctx: Ctx) => unknown

export interface ProcessorInit<Ctx> {
  methods: ReadonlyMap<string, MethodHandler<Ctx>>
  maxBatchLength: number
  maxDepth: number
  /**
   * Largest reply, in bytes of JSON. A response that would take a reply past
   * it is replaced by a -32006 error for its id (so a batch's earlier
   * responses are kept and its later ones refused). Optional: no cap.
   */
  maxReplyBytes?: number
  /** Called for unexpected errors thrown by a method (the client gets -32603 without detail). */
  onInternalError: (err: unknown, method: string) => void
  /** Called after each call of a known method with how long it ran (metrics); unknown methods are not reported, so labels stay bounded. */
  onCall?: (call: RpcCallTiming) => void
}

export interface RpcCallTiming {
  method: string
  ms: number
  /** ok; error: an RpcError for the client (bad params, refused tx); internal: the method threw */
  outcome: 'ok' | 'error' | 'internal'
}

/**
 * What became of one message. `status` is the HTTP status to answer with;
 * `body` is absent when only notifications were sent.
 */
export interface Outcome {
  status: 200 | 400 | 429
  body?: JsonRpcResponse | JsonRpcResponse[]
  /** `body` as JSON, when it was serialized to measure it against maxReplyBytes. */
  text?: string
}

export function failure (id: JsonRpcId, code: number, message: string, data?: unknown): JsonRpcResponse {
  const error: JsonRpcErrorObject = data === undefined ? { code, message } : { code, message, data }
  return { jsonrpc: '2.0', id, error }
}

/**
 * Whether the JSON in `text` nests arrays and objects deeper than `max`,
 * counted on the raw text (brackets inside strings skipped), without
 * recursion. Exact for valid JSON; invalid JSON fails to parse afterwards anyway.
 */
export function exceedsDepth (text: string, max: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++ // backslash: skip the escaped character
      else if (c === 0x22) inString = false
    } else if (c === 0x22) {
      inString = true
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true
    } else if (c === 0x5d || c === 0x7d) {
      depth--
    }
  }
  return false
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isValidId (value: unknown): value is JsonRpcId {
  return value === null || typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))
}

/** The id to answer an entry with: its own if it has a valid one, else null. */
function idOf (entry: unknown): JsonRpcId {
  return isPlainObject(entry) && Object.hasOwn(entry, 'id') && isValidId(entry['id']) ? entry['id'] : null
}

/** Whether an entry expects a response: anything but a well-formed notification does. */
function expectsResponse (entry: unknown): boolean {
  return !(isPlainObject(entry) && !Object.hasOwn(entry, 'id') && entry['jsonrpc'] === '2.0' && typeof entry['method'] === 'string')
}

/** Method names are echoed in errors; a client must not make the server reflect megabytes. */
function shortName (method: string): string {
  return method.length > 64 ? `${method.slice(0, 64)}…` : method
}

export class JsonRpcProcessor<Ctx> {
  private readonly init: ProcessorInit<Ctx>

  constructor (init: ProcessorInit<Ctx>) {
    this.init = init
  }

  /**
   * Handles one message. `admit(n)` is asked before any method runs, with the
   * number of entries (1 for a single request or an unparseable message);
   * when it says no, every entry that expects a response gets -32005.
   */
  async process (text: string, ctx: Ctx, admit: (count: number) => boolean): Promise<Outcome> {
    const { maxDepth, maxBatchLength } = this.init
    if (exceedsDepth(text, maxDepth)) {
      if (!admit(1)) return rateLimited([null])
      return { status: 400, body: failure(null, LIMIT_EXCEEDED, `request nests arrays or objects deeper than ${maxDepth} levels`) }
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      if (!admit(1)) return rateLimited([null])
      return { status: 400, body: failure(null, PARSE_ERROR, 'parse error: not valid JSON') }
    }

    const cap = this.init.maxReplyBytes ?? Infinity
    if (!Array.isArray(parsed)) {
      if (!admit(1)) return rateLimited(expectsResponse(parsed) ? [idOf(parsed)] : [])
      const response = await this.handleEntry(parsed, ctx)
      if (response === undefined) return { status: 200 }
      const text = JSON.stringify(response)
      if (text.length > cap) return { status: 200, body: tooLarge(response.id, cap) }
      return { status: 200, body: response, text }
    }

    if (parsed.length === 0) {
      if (!admit(1)) return rateLimited([null])
      return { status: 400, body: failure(null, INVALID_REQUEST, 'invalid request: empty batch') }
    }
    if (parsed.length > maxBatchLength) {
      if (!admit(1)) return rateLimited([null])
      return { status: 400, body: failure(null, LIMIT_EXCEEDED, `batch of ${parsed.length} requests exceeds the limit of ${maxBatchLength}`) }
    }
    if (!admit(parsed.length)) return rateLimited(parsed.filter(expectsResponse).map(idOf), true)
    // One after another, in order: a batch means what its entries sent one by one
    // would (a pool_sendTx then a pool_getTxStatus of the same tx sees it pending).
    const body: JsonRpcResponse[] = []
    const texts: string[] = []
    // brackets and commas, then each response's JSON (UTF-16 length: the UTF-8 bytes are at least this many)
    let bytes = 2
    for (const entry of parsed) {
      let response = await this.handleEntry(entry, ctx)
      if (response === undefined) continue
      let text = JSON.stringify(response)
      if (bytes + text.length + 1 > cap) {
        response = tooLarge(response.id, cap)
        text = JSON.stringify(response)
      }
      bytes += text.length + 1
      body.push(response)
      texts.push(text)
    }
    return body.length === 0 ? { status: 200 } : { status: 200, body, text: `[${texts.join(',')}]` }
  }

  /** One request or notification; resolves to its response, or undefined for a notification. */
  private async handleEntry (entry: unknown, ctx: Ctx): Promise<JsonRpcResponse | undefined> {
    if (!isPlainObject(entry)) return failure(null, INVALID_REQUEST, 'invalid request: not a JSON object')
    const hasId = Object.hasOwn(entry, 'id')
    const id = entry['id']
    if (hasId && !isValidId(id)) return failure(null, INVALID_REQUEST, 'invalid request: id must be a string, a number or null')
    const replyId: JsonRpcId = hasId ? id as JsonRpcId : null
    if (entry['jsonrpc'] !== '2.0') return failure(replyId, INVALID_REQUEST, 'invalid request: "jsonrpc" must be "2.0"')
    const method = entry['method']
    if (typeof method !== 'string') return failure(replyId, INVALID_REQUEST, 'invalid request: "method" must be a string')
    const params = entry['params']
    if (params !== undefined && !Array.isArray(params) && !isPlainObject(params)) {
      return failure(replyId, INVALID_REQUEST, 'invalid request: "params" must be an array or an object')
    }

    const handler = this.init.methods.get(method)
    if (handler === undefined) {
      return hasId ? failure(replyId, METHOD_NOT_FOUND, `method not found: ${shortName(method)}`) : undefined
    }
    const started = performance.now()
    const report = (outcome: RpcCallTiming['outcome']): void => { this.init.onCall?.({ method, ms: performance.now() - started, outcome }) }
    try {
      const result = await handler(params as RawParams, ctx)
      report('ok')
      return hasId ? { jsonrpc: '2.0', id: replyId, result: result ?? null } : undefined
    } catch (err) {
      if (err instanceof RpcError) {
        report('error')
        return hasId ? failure(replyId, err.code, err.message, err.data) : undefined
      }
      report('internal')
      this.init.onInternalError(err, method)
      return hasId ? failure(replyId, INTERNAL_ERROR, 'internal error') : undefined
    }
  }
}

function tooLarge (id: JsonRpcId, cap: number): JsonRpcResponse {
  return failure(id, LIMIT_EXCEEDED, `reply too large: over the limit of ${cap} bytes (ask for less at once)`)
}

function rateLimited (ids: JsonRpcId[], batch = false): Outcome {
  const errors = ids.map(id => failure(id, RATE_LIMITED, 'rate limited: too many requests from this address'))
  if (errors.length === 0) return { status: 429 }
  return { status: 429, body: batch ? errors : errors[0]! }
}

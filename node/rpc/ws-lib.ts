/**
 * The `ws` package, under the names the RPC code uses. ws is CommonJS; its
 * ESM wrapper exports the classes by name.
 */
import { WebSocket, WebSocketServer, type RawData } from 'ws'

export { WebSocket, WebSocketServer }
export type WsSocket = WebSocket
export type WsServer = WebSocketServer
export type WsData = RawData
/** readyState of an open socket. */
export const WS_OPEN = WebSocket.OPEN
/** readyState of a closed socket. */
export const WS_CLOSED = WebSocket.CLOSED

/** A message's text, whichever of ws's shapes (Buffer, ArrayBuffer, fragments) it came in. */
export function wsText (data: WsData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8')
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return Buffer.from(data).toString('utf8')
}

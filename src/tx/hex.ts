import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'

/** Tx hashes and nullifiers are handled as lowercase hex strings: cheap Map keys, readable in logs and JSON. */
export type Hex = string

export const toHex: (bytes: Uint8Array) => Hex = bytesToHex

/** Parses lowercase or uppercase hex with an optional 0x prefix; throws on anything else. */
export function fromHex (hex: string): Uint8Array {
  const body = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex
  if (body.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(body)) throw new TypeError('not a hex string')
  return hexToBytes(body.toLowerCase())
}

/** A 32-byte hash as 64 lowercase hex characters. */
export function isHash (value: unknown): value is Hex {
  return typeof value === 'string' && /^[0-9a-f]{64}$/.test(value)
}

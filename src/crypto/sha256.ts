import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'

/**
 * SHA-256 through WebCrypto where it exists (native speed, off the main thread
 * in Node), else @noble/hashes. Browsers expose `crypto.subtle` only in secure
 * contexts, and an observer page may be served over plain http from an
 * operator's host, so the fallback is needed in practice, not just in theory.
 */
const subtle: SubtleCrypto | undefined = globalThis.crypto?.subtle

export async function sha256 (data: Uint8Array): Promise<Uint8Array> {
  if (subtle !== undefined) {
    return new Uint8Array(await subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>))
  }
  return nobleSha256(data)
}

/** Synchronous SHA-256 for small inputs (message ids, digests of a few bytes). */
export function sha256Sync (data: Uint8Array): Uint8Array {
  return nobleSha256(data)
}

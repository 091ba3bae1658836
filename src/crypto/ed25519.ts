import { ed25519 } from '@noble/curves/ed25519.js'
import { LruCache } from '../util/lru.ts'

/**
 * Ed25519 over WebCrypto (Node ≥ 22, Chromium), falling back to @noble/curves
 * where WebCrypto or its Ed25519 is missing (insecure browser contexts).
 *
 * Both paths apply the same strict RFC 8032 rules: noble is run with
 * `zip215: false`, matching OpenSSL/BoringSSL. Otherwise a browser and a Node
 * node could disagree on a borderline signature and penalize each other.
 */
export const PUBLIC_KEY_BYTES = 32
export const SIGNATURE_BYTES = 64
export const SECRET_KEY_BYTES = 32

const subtle: SubtleCrypto | undefined = globalThis.crypto?.subtle

/** Imported WebCrypto keys, by sender: importing costs about as much as a verify. */
const importedKeys = new LruCache<string, Promise<CryptoKey>>(4096)
let webCryptoEd25519: boolean | undefined

function keyId (publicKey: Uint8Array): string {
  let s = ''
  for (const b of publicKey) s += String.fromCharCode(b)
  return s
}

async function importPublicKey (publicKey: Uint8Array): Promise<CryptoKey> {
  const id = keyId(publicKey)
  let key = importedKeys.get(id)
  if (key === undefined) {
    key = subtle!.importKey('raw', publicKey as Uint8Array<ArrayBuffer>, { name: 'Ed25519' }, false, ['verify'])
    importedKeys.set(id, key)
    // a refused key must not stay cached as a rejected promise
    key.catch(() => importedKeys.delete(id))
  }
  return await key
}

export async function ed25519Verify (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
  if (signature.byteLength !== SIGNATURE_BYTES || publicKey.byteLength !== PUBLIC_KEY_BYTES) return false
  if (subtle !== undefined && webCryptoEd25519 !== false) {
    try {
      const key = await importPublicKey(publicKey)
      webCryptoEd25519 = true
      return await subtle.verify('Ed25519', key, signature as Uint8Array<ArrayBuffer>, message as Uint8Array<ArrayBuffer>)
    } catch (err) {
      // NotSupportedError: this runtime has WebCrypto without Ed25519. Any other
      // error (an invalid point) means the key itself is bad.
      if ((err as Error).name !== 'NotSupportedError') return false
      webCryptoEd25519 = false
    }
  }
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false })
  } catch {
    return false
  }
}

export function ed25519Sign (message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return ed25519.sign(message, secretKey)
}

export function ed25519PublicKey (secretKey: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(secretKey)
}

export function ed25519RandomSecretKey (): Uint8Array {
  return ed25519.utils.randomSecretKey()
}

import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { DataDirError } from './store/database.ts'

/**
 * The node's libp2p identity, kept in `<data dir>/peer.key` (libp2p's
 * protobuf key encoding, owner-only permissions), so the peer id — which
 * bootnode and relay addresses embed — survives restarts. Back it up with
 * the data dir; delete it to take a new identity.
 */
export const KEY_FILE = 'peer.key'

export async function loadOrCreateIdentity (dataDir: string): Promise<PrivateKey> {
  const path = join(dataDir, KEY_FILE)
  let bytes: Uint8Array | undefined
  try {
    bytes = readFileSync(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new DataDirError(dataDir, `cannot read ${KEY_FILE} (${(err as Error).message})`, 'Check its permissions.', { cause: err })
    }
  }
  if (bytes !== undefined) {
    try {
      return privateKeyFromProtobuf(bytes)
    } catch (err) {
      throw new DataDirError(dataDir, `${KEY_FILE} is not a libp2p private key (${(err as Error).message})`,
        'Restore it from a backup, or delete it to start with a new peer id.', { cause: err })
    }
  }
  const key = await generateKeyPair('Ed25519')
  // write then rename, so a crash never leaves a half-written key behind
  const tmp = `${path}.tmp`
  writeFileSync(tmp, privateKeyToProtobuf(key), { mode: 0o600 })
  chmodSync(tmp, 0o600)
  renameSync(tmp, path)
  return key
}

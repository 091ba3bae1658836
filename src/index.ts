/**
 * lightpool core: isomorphic (no Node built-ins, no DOM-only APIs).
 * node/ and web/ build on these exports; nothing here imports them.
 */
export { ByteReader, ByteWriter, DecodeError } from './codec/bytes.ts'
export { sha256 } from './crypto/sha256.ts'
export * from './tx/types.ts'
export * from './tx/limits.ts'
export { fromHex, toHex, isHash, type Hex } from './tx/hex.ts'
export { decodeTx, encodeUnsigned, appendSignature, signingMessage, txHash, txMeta, unsignedPart, NULLIFIER_BYTES } from './tx/encoding.ts'
export { buildTx, Ed25519Signer, type TxSigner, type TxFields, type BuiltTx } from './tx/build.ts'
export { SignatureVerifier, type TxVerifier } from './tx/verifier.ts'
export * from './validation/rules.ts'
export { TxValidator, type Validation, type ValidatorInit, type AdmissionGate } from './validation/validator.ts'
export { submitTx, revalidateStored, matchesAnnouncement, type SubmitResult } from './validation/intake.ts'
export * from './pool/pool.ts'
export { checkPolicy, type AdmissionPolicy } from './pool/policy.ts'
export { MemoryPoolStore, type PoolStore, type StoredTx, type StoreBatch } from './pool/store.ts'
export { Emitter, type Listener } from './util/emitter.ts'
export { LruCache } from './util/lru.ts'
// the node factory and the wire ids: what the package's "." entry promises (issue 13)
export { createLightpool, LIGHTPOOL_VERSION, type Lightpool, type LightpoolInit, type LightpoolServices } from './lightpool.ts'
export { protocolIds, type ProtocolIds } from './net/protocols.ts'
export type { NodeMode } from './net/service.ts'

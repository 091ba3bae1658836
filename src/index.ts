/**
 * lightpool core: isomorphic (no Node built-ins, no DOM-only APIs).
 * node/ and web/ build on these exports and import the core through this file
 * only (test/unit/public-face.test.ts); nothing here imports them.
 */
export { createLightpool, LIGHTPOOL_VERSION, type Lightpool, type LightpoolInit, type LightpoolServices } from './lightpool.ts'
export type { NodeMode, ServiceFactories, TxSource } from './types.ts'
export { protocolIds, type ProtocolIds } from './net/protocols.ts'
export type { LightpoolService, NetStats } from './net/service.ts'
export type { NetEvents } from './net/events.ts'
export type { FeedEvent, FeedState, PushResult, RelayCheckStats, RelayFeedStats, FeedServerStats } from './net/feed/index.ts'
// defaults node/config.ts takes its settings' defaults from
export { DEFAULT_FEED_SERVER_CONFIG } from './net/feed/index.ts'
export { LIGHTPOOL_PEER_TAG, DEFAULT_PEER_KEEPER_CONFIG } from './net/peer-keeper.ts'
export { ByteReader, ByteWriter, DecodeError } from './codec/bytes.ts'
export { sha256 } from './crypto/sha256.ts'
export { TX_VERSION, type Tx, type TxHeader, type TxMeta } from './tx/types.ts'
export { DEFAULT_TX_LIMITS, TX_FIXED_BYTES, NULLIFIER_ENTRY_BYTES, maxTxBytes, type TxLimits } from './tx/limits.ts'
export { fromHex, toHex, isHash, type Hex } from './tx/hex.ts'
export { encodeMeta, decodeMeta, META_FIXED_BYTES } from './tx/meta-codec.ts'
export { decodeTx, encodeUnsigned, appendSignature, signingMessage, txHash, txMeta, unsignedPart, NULLIFIER_BYTES } from './tx/encoding.ts'
export { buildTx, Ed25519Signer, type TxSigner, type TxFields, type BuiltTx } from './tx/build.ts'
export { SignatureVerifier, type TxInvalid, type TxVerifier } from './tx/verifier.ts'
export { deriveNullifier } from './tx/nullifier.ts'
export { rejected, ignored, type Refusal, type Rule, type RejectRule, type IgnoreRule } from './tx/refusals.ts'
export { TxValidator, type Validation, type ValidatorInit } from './validation/validator.ts'
export { TxIntake, matchesAnnouncement, type SubmitResult, type AdmissionVerdict, type IntakeOptions } from './validation/intake.ts'
export { TxPool, compareRank, DEFAULT_POOL_CONFIG, type PoolInit, type PoolConfig, type AddResult, type AdmissionCheck, type PoolEntry, type PoolEvents, type PoolPage, type PoolStats, type RemovalReason } from './pool/pool.ts'
export { checkPolicy, type AdmissionPolicy } from './pool/policy.ts'
export { MemoryPoolStore, StoreFullError, StoreWriteError, type PoolStore, type StoredTx, type StoreBatch } from './pool/store.ts'
// utilities node/ and web/ build on, exported deliberately: one implementation each
export { Emitter, type Listener } from './util/emitter.ts'
export { ignoreError } from './util/ignore.ts'
export { backoffDelay, jittered } from './util/backoff.ts'
export { projectRollups, estimateFees, forecast, rollupConfig, DEFAULT_ROLLUP_CONFIG, DEFAULT_ESTIMATE_TX_BYTES, type PoolForecast, type RollupConfig, type ProjectedRollup, type FeeEstimate, type RankedTx } from './pool/projection.ts'
export { TxTimeline, DEFAULT_TX_TIMELINE_CONFIG, type TxTimelineConfig, type TxTimelineRecord, type TimelineStep, type TxStatusKind } from './pool/tx-timeline.ts'

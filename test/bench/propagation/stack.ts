import { noise } from '@chainsafe/libp2p-noise'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p, type Libp2pOptions } from 'libp2p'
import type { StreamMeter } from './meter.ts'
import type { ServiceFactories } from '../../../src/index.ts'

type MuxerFactory = NonNullable<Libp2pOptions['streamMuxers']>[number]

/** All nodes dial from 127.0.0.1: lift libp2p's per-host inbound rate limit (5/s) for every mode. */
export const BENCH_CONNECTIONS = { inboundConnectionThreshold: 10_000, maxIncomingPendingConnections: 200 }

/**
 * The libp2p stack of the bench's own nodes (the baseline and the floor):
 * lightpool's transport, encryption, metering and connection limits, one
 * place for all, so between modes only the protocol and the muxer differ.
 */
export async function benchLibp2p (meter: StreamMeter, muxer: MuxerFactory, services: ServiceFactories = {}): Promise<Libp2p<Record<string, unknown>>> {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [muxer],
    metrics: () => meter.metrics(),
    connectionManager: BENCH_CONNECTIONS,
    services: { identify: identify(), ...services }
  })
}

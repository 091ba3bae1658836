// Type-checked (never run) in a consumer project against the installed
// package's .d.ts: every entry resolves, and its types are real, not `any`
// (each @ts-expect-error below fails the check if they were).
import { buildTx, createLightpool, Ed25519Signer, MemoryPoolStore, protocolIds, TxPool, type Lightpool, type PoolEntry, type TxFields, type TxVerifier } from 'lightpool'
import { createLogger, createRpcServer, defaults, LmdbDatastore, LmdbPoolStore, openDatabase, runNode, type NodeConfig, type RunningNode } from 'lightpool/node'
import { createBrowserLightpool, type BrowserLightpool } from 'lightpool/web'
import { defineLightpoolDashboard, LightpoolDashboardElement } from 'lightpool/widget'
import { lightpoolService, type LightpoolNode } from 'lightpool/libp2p'

export async function core (): Promise<string> {
  const fields: TxFields = { fee: 1n, expiresAt: Date.now() + 60_000, nullifierSeeds: [], payload: new Uint8Array(8) }
  const built = await buildTx(fields, Ed25519Signer.generate())
  const pool: TxPool = new TxPool({ store: new MemoryPoolStore() })
  const best: PoolEntry | undefined = pool.best().next().value
  const verifier: TxVerifier | undefined = undefined
  // @ts-expect-error a fee is a bigint
  const wrong: TxFields = { ...fields, fee: 1 }
  void wrong; void best; void verifier
  return `${built.hash} ${protocolIds('devnet').txTopic}`
}

export async function node (): Promise<void> {
  const config: NodeConfig = { ...defaults(), dataDir: './data', httpPort: 0 }
  const running: RunningNode = await runNode(config, createLogger('info'))
  const lightpool: Lightpool = running.node
  // @ts-expect-error submitTx takes bytes
  await lightpool.submitTx('0x00')
  const db = await openDatabase({ path: './db', network: 'devnet' })
  const pool = new LmdbPoolStore(db, {})
  const datastore = new LmdbDatastore(db)
  const started = await createLightpool({ transports: [], store: pool, datastore })
  createRpcServer({ node: started })
  await running.stop()
}

export async function web (): Promise<BrowserLightpool> {
  defineLightpoolDashboard()
  const element: typeof LightpoolDashboardElement = LightpoolDashboardElement
  void element
  return await createBrowserLightpool({ relays: ['/dns4/relay.example/tcp/443/wss/p2p/12D3KooW'] })
}

export function libp2pService (): (components: never) => LightpoolNode {
  const factory = lightpoolService({ network: 'devnet', mode: 'light' })
  // @ts-expect-error a mode is 'full' or 'light'
  lightpoolService({ mode: 'heavy' })
  return factory
}

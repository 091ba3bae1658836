/**
 * lightpool in the browser: the library API for apps and bundlers
 * (dist/lib/lightpool.js).
 *
 *   import { createBrowserLightpool } from 'lightpool/web'
 *   const node = await createBrowserLightpool({ relays: ['/dns4/relay.example/tcp/443/wss/p2p/12D3…'], network: 'devnet' })
 *   node.pool.events.on('added', ({ tx }) => console.log(tx.hash, tx.fee))
 *   for (const tx of node.pool.best()) …            // best first
 *   const body = await node.getTx(hash)              // fetched on demand in light mode
 *   await node.submitTx(bytes)                       // validated, stored, announced
 */
// its own name: the core's createLightpool takes transports and stores, this one relays and a tab
export { createBrowserLightpool, type BrowserLightpool, type BrowserLightpoolInit } from './node.ts'
export { BrowserConnectivity, browserConnectivity, connectionKind, type ConnectionKind, type ConnectionInfo, type ConnectivityInit, type ConnectivityStatus, type RelayStatus } from './connectivity.ts'
export { browserGater, insecureRule, type InsecureRule } from './gater.ts'
export { IdbPoolStore, type IdbPoolStoreInit, type StorageInfo } from './store/idb-pool-store.ts'
export { loadSettings, saveSettings, type Settings } from './store/settings.ts'
export { resolvePageConfig, type PageConfig } from './config.ts'
export { Dashboard, dashboardCss, type DashboardOptions, type RenderStats } from './ui/dashboard.ts'
export { PoolView, type PoolEventItem, type HistogramBar } from './ui/pool-view.ts'
export { submitDemoTx } from './ui/submit.ts'
export { LightpoolDashboardElement, defineLightpoolDashboard } from './widget/element.ts'
// the core pieces an app needs to make and read txs
export { forecast, projectRollups, estimateFees, rollupConfig, DEFAULT_ROLLUP_CONFIG, DEFAULT_ESTIMATE_TX_BYTES, type RollupConfig, type ProjectedRollup, type FeeEstimate, type PoolForecast } from '../src/index.ts'
export { buildTx, Ed25519Signer, type TxSigner, type TxFields, type BuiltTx, decodeTx, txHash, toHex, fromHex, type TxMeta, type Tx, type PoolEntry, type PoolEvents, type RemovalReason, type TxPool, type PoolStore, type StoredTx, type StoreBatch } from '../src/index.ts'

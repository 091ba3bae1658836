// A consumer's Node program against the installed package (run from a temp
// project by test/process/package.test.ts): builds and signs a tx with the
// core entry, runs a node with the "./node" entry peered to the CLI node given
// as argv[2], submits the tx to it, and waits until the CLI node (argv[3], its
// JSON-RPC URL) holds the tx. Prints {"hash": …} on success.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildTx, decodeTx, Ed25519Signer, protocolIds, toHex } from 'lightpool'
import { createLogger, defaults, runNode } from 'lightpool/node'
import { lightpoolService } from 'lightpool/libp2p'

const [bootstrap, cliRpc, network] = process.argv.slice(2)
const signer = Ed25519Signer.generate()
const built = await buildTx({
  fee: 700n,
  expiresAt: Date.now() + 600_000,
  nullifierSeeds: [crypto.getRandomValues(new Uint8Array(32))],
  payload: crypto.getRandomValues(new Uint8Array(2_000))
}, signer)
if (decodeTx(built.bytes).header.fee !== 700n) throw new Error('decodeTx does not read back the fee')
if (!protocolIds(network).txTopic.includes(network)) throw new Error('protocolIds does not name the network')
if (typeof lightpoolService({ network }) !== 'function') throw new Error('lightpool/libp2p gives no service factory')

const dataDir = mkdtempSync(join(tmpdir(), 'lightpool-consumer-'))
const running = await runNode({
  ...defaults(),
  dataDir,
  network,
  host: '127.0.0.1',
  tcpPort: 0,
  wsPort: 0,
  httpPort: 0,
  minPeers: 1,
  bootstrap: [bootstrap],
  logLevel: 'warn'
}, createLogger('warn'))
try {
  const deadline = Date.now() + 30_000
  while (running.node.net.stats().peers === 0) {
    if (Date.now() > deadline) throw new Error('no peer connection to the CLI node in 30 s')
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  const result = await running.node.submitTx(built.bytes)
  if (result.status !== 'added') throw new Error(`submitTx: ${JSON.stringify(result)}`)
  for (;;) {
    const res = await fetch(cliRpc, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'pool_getTx', params: [`0x${built.hash}`] }) })
    const body = await res.json()
    if (body.result === `0x${toHex(built.bytes)}`) break
    if (Date.now() > deadline) throw new Error(`the CLI node did not get the tx in 30 s: ${JSON.stringify(body)}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  process.stdout.write(`${JSON.stringify({ hash: built.hash })}\n`)
} finally {
  await running.stop()
  rmSync(dataDir, { recursive: true, force: true })
}

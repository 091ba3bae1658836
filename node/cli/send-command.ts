import { readFileSync } from 'node:fs'
import { Command, Option } from 'commander'
import { SingleBar } from 'cli-progress'
import { buildTx, Ed25519Signer, fromHex, NULLIFIER_ENTRY_BYTES, toHex, TX_FIXED_BYTES } from '../../src/index.ts'
import { TX_IGNORED, TX_REJECTED } from '../rpc/errors.ts'
import { RpcError, rpcCall, rpcEndpoint } from './rpc-client.ts'

interface SendOptions {
  rpc: string
  count: number
  rate: number
  size: number
  fee: string
  expiresIn: number
  nullifiers: number
  key?: string
  concurrency: number
}

const positiveInt = (name: string) => (v: string): number => {
  const n = Number(v)
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${v}`)
  return n
}

/** `--fee 100` or `--fee 50-500` (uniformly random per tx). */
function parseFee (spec: string): () => bigint {
  const m = /^(\d+)(?:-(\d+))?$/.exec(spec)
  if (m === null) throw new Error(`--fee must be N or MIN-MAX, got ${spec}`)
  const lo = BigInt(m[1]!)
  const hi = m[2] === undefined ? lo : BigInt(m[2])
  if (hi < lo) throw new Error(`--fee range ${spec} is empty`)
  return () => lo + BigInt(Math.floor(Math.random() * Number(hi - lo + 1n)))
}

function loadSigner (path: string | undefined): Ed25519Signer {
  if (path === undefined) return Ed25519Signer.generate()
  try {
    return new Ed25519Signer(fromHex(readFileSync(path, 'utf8').trim()))
  } catch (err) {
    throw new Error(`--key ${path}: ${(err as Error).message} (expected a file holding a 32-byte Ed25519 secret key as hex)`)
  }
}

export function sendCommand (): Command {
  return new Command('send')
    .description('sign demo txs and submit them over JSON-RPC: a client and load generator. Prints one tx hash per line.')
    .addOption(new Option('--rpc <url>', 'the node: its base URL (/rpc is added) or its JSON-RPC endpoint').default('http://127.0.0.1:8080').env('LIGHTPOOL_RPC'))
    .addOption(new Option('--count <n>', 'txs to send').default(10).argParser(positiveInt('--count')))
    .addOption(new Option('--rate <tx/s>', 'submission rate').default(10).argParser(positiveInt('--rate')))
    .addOption(new Option('--size <bytes>', 'encoded size of each tx').default(40_000).argParser(positiveInt('--size')))
    .addOption(new Option('--fee <n|min-max>', 'fee, or a range to draw from').default('100'))
    .addOption(new Option('--expires-in <seconds>', 'expiry from now').default(600).argParser(positiveInt('--expires-in')))
    .addOption(new Option('--nullifiers <n>', 'random nullifiers per tx').default(1).argParser(positiveInt('--nullifiers')))
    .addOption(new Option('--key <file>', 'file holding the sender\'s Ed25519 secret key as hex (default: a fresh key)'))
    .addOption(new Option('--concurrency <n>', 'requests in flight').default(8).argParser(positiveInt('--concurrency')))
    .action(async (opts: SendOptions) => { process.exitCode = await send(opts) })
}

async function send (opts: SendOptions): Promise<number> {
  const endpoint = rpcEndpoint(opts.rpc)
  const fee = parseFee(opts.fee)
  const signer = loadSigner(opts.key)
  const payloadBytes = opts.size - TX_FIXED_BYTES - NULLIFIER_ENTRY_BYTES * opts.nullifiers
  if (payloadBytes < 0) throw new Error(`--size ${opts.size} is below the envelope's minimum of ${TX_FIXED_BYTES + NULLIFIER_ENTRY_BYTES * opts.nullifiers} bytes`)
  process.stderr.write(`sender ${toHex(signer.publicKey)} → ${endpoint}\n`)
  const bar = process.stderr.isTTY ? new SingleBar({ format: 'send [{bar}] {value}/{total} · {rate} tx/s · {refused} refused', hideCursor: true }) : undefined
  bar?.start(opts.count, 0, { rate: 0, refused: 0 })

  const refused = new Map<string, number>()
  let accepted = 0
  let failed = 0
  const started = performance.now()
  const inFlight = new Set<Promise<void>>()
  for (let i = 0; i < opts.count; i++) {
    const due = started + i * 1000 / opts.rate
    const wait = due - performance.now()
    if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
    while (inFlight.size >= opts.concurrency) await Promise.race(inFlight)
    const payload = new Uint8Array(payloadBytes)
    crypto.getRandomValues(payload.subarray(0, Math.min(65_536, payloadBytes)))
    // fresh seeds: each tx spends nullifiers of its own, bound to the sender key
    const nullifierSeeds = Array.from({ length: opts.nullifiers }, () => crypto.getRandomValues(new Uint8Array(32)))
    const built = await buildTx({ fee: fee(), expiresAt: Date.now() + opts.expiresIn * 1000, nullifierSeeds, payload }, signer, { maxPayloadBytes: Math.max(payloadBytes, 1), maxNullifiers: opts.nullifiers })
    const p = rpcCall<{ hash: string }>(endpoint, 'pool_sendTx', [`0x${toHex(built.bytes)}`]).then((r) => {
      accepted++
      process.stdout.write(`${r.hash}\n`)
    }, (err: unknown) => {
      if (err instanceof RpcError && (err.code === TX_REJECTED || err.code === TX_IGNORED)) {
        const rule = (err.data as { rule?: string } | undefined)?.rule ?? err.message
        refused.set(rule, (refused.get(rule) ?? 0) + 1)
      } else {
        failed++
        process.stderr.write(`\nsend failed: ${(err as Error).message}\n`)
      }
    }).finally(() => {
      inFlight.delete(p)
      const done = accepted + failed + [...refused.values()].reduce((a, b) => a + b, 0)
      bar?.update(done, { rate: Math.round(done / ((performance.now() - started) / 1000)), refused: done - accepted - failed })
    })
    inFlight.add(p)
  }
  await Promise.all(inFlight)
  bar?.stop()
  const seconds = (performance.now() - started) / 1000
  const summary = {
    sent: opts.count,
    accepted,
    refused: Object.fromEntries(refused),
    failed,
    seconds: Math.round(seconds * 100) / 100,
    rate: Math.round(opts.count / seconds * 10) / 10
  }
  process.stderr.write(`${JSON.stringify(summary)}\n`)
  return failed > 0 ? 1 : 0
}

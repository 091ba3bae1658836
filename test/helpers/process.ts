import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { setPriority, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'

/** Runs `lightpool` commands as real processes, as an operator would. */
const ROOT = resolve(import.meta.dirname, '../..')
/** Node 22 from the `node` devDependency: what every npm script here runs on. */
export const NODE = join(ROOT, 'node_modules/.bin/node')
const BIN = join(ROOT, 'node/cli/bin.ts')

export function tempDir (prefix = 'lightpool-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

export function removeDir (dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}

export interface ReadyInfo {
  peerId: string
  multiaddrs: string[]
  browserAddrs: string[]
  rpc: string
  observer: string
  restoredTxs: number
  /** With --rpc-admin: the admin RPC (127.0.0.1) and the file holding its bearer token. */
  adminRpc?: string
  adminTokenFile?: string
}

export interface NodeProcess {
  proc: ChildProcess
  info: ReadyInfo
  /** Every JSON log line so far. */
  logs: Array<Record<string, unknown>>
  /** What it wrote to stderr so far (a native crash's message lands there, not in the logs). */
  stderr: () => string
  tcpAddr: string
  call: <T = unknown>(method: string, params?: unknown[]) => Promise<T>
  /**
   * A call to the admin RPC (the node must run with --rpc-admin): pool_markMined,
   * pool_removeTx. Sends the bearer token from the node's data directory.
   */
  callAdmin: <T = unknown>(method: string, params?: unknown) => Promise<T>
  /** One call, answered with the whole JSON-RPC response (errors with their code and data, not thrown). */
  request: (method: string, params?: unknown[]) => Promise<{ result?: unknown, error?: { code: number, message: string, data?: unknown } }>
  /** SIGTERM and wait for the exit code. */
  stop: () => Promise<number | null>
  /** SIGKILL: no shutdown at all. */
  kill9: () => Promise<void>
  exited: Promise<number | null>
}

export interface StartOptions {
  dataDir: string
  network?: string
  args?: string[]
  env?: Record<string, string>
  /** Fixed ports to reuse across restarts; 0 picks free ones. */
  tcpPort?: number
  wsPort?: number
  httpPort?: number
  /** Run another build of the command (an installed package's bin) instead of this repository's node/cli/bin.ts. */
  bin?: string
  /** Working directory. Default: the repository. */
  cwd?: string
  /** Options for the Node.js runtime itself, before the script (e.g. `--cpu-prof`, `--max-semi-space-size=1`). */
  nodeArgs?: string[]
  /** How long to wait for the ready line. Default 30 s. */
  readyTimeoutMs?: number
}

export async function startNodeProcess (opts: StartOptions): Promise<NodeProcess> {
  const args = [...(opts.nodeArgs ?? []), opts.bin ?? BIN, 'node',
    '--data-dir', opts.dataDir,
    '--network', opts.network ?? 'proctest',
    '--host', '127.0.0.1',
    '--tcp-port', String(opts.tcpPort ?? 0),
    '--ws-port', String(opts.wsPort ?? 0),
    '--http-port', String(opts.httpPort ?? 0),
    '--rpc-admin-port', '0',
    ...(opts.args ?? [])]
  const proc = spawn(NODE, args, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const logs: Array<Record<string, unknown>> = []
  const exited = new Promise<number | null>(resolve => proc.once('exit', (code) => { resolve(code) }))
  let stderr = ''
  proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const info = await new Promise<ReadyInfo>((resolve, reject) => {
    const readyMs = opts.readyTimeoutMs ?? 30_000
    const timer = setTimeout(() => {
      const where = proc.pid === undefined ? '' : whereStuck(proc.pid)
      // a node that never got ready is nobody's to stop: the caller has no handle on it
      proc.kill('SIGKILL')
      reject(new Error(`node did not get ready in ${readyMs / 1000} s; logs: ${JSON.stringify(logs.slice(-3))} stderr: ${stderr}${where}`))
    }, readyMs)
    createInterface({ input: proc.stdout }).on('line', (line) => {
      let entry: Record<string, unknown>
      try { entry = JSON.parse(line) } catch { return }
      logs.push(entry)
      if (typeof entry.msg === 'string' && entry.msg.startsWith('lightpool node ready')) {
        clearTimeout(timer)
        resolve(entry as unknown as ReadyInfo)
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`node exited with ${code} before ready; logs: ${JSON.stringify(logs.slice(-3))} stderr: ${stderr}`))
    })
  })
  let id = 0
  return {
    proc,
    info,
    logs,
    stderr: () => stderr,
    exited,
    tcpAddr: info.multiaddrs.find(a => !a.includes('/ws'))!,
    callAdmin: async <T>(method: string, params: unknown = []): Promise<T> => {
      if (info.adminRpc === undefined || info.adminTokenFile === undefined) throw new Error('the node runs without --rpc-admin')
      const token = readFileSync(info.adminTokenFile, 'utf8').trim()
      const res = await fetch(info.adminRpc, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }) })
      const body = await res.json() as { result?: T, error?: { message: string } }
      if (body.error !== undefined) throw new Error(`${method}: ${body.error.message}`)
      return body.result as T
    },
    request: async (method, params = []) => {
      const res = await fetch(info.rpc, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }) })
      return await res.json() as { result?: unknown, error?: { code: number, message: string, data?: unknown } }
    },
    call: async <T>(method: string, params: unknown[] = []): Promise<T> => {
      const res = await fetch(info.rpc, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }) })
      const body = await res.json() as { result?: T, error?: { message: string } }
      if (body.error !== undefined) throw new Error(`${method}: ${body.error.message}`)
      return body.result as T
    },
    stop: async () => {
      proc.kill('SIGTERM')
      return await exited
    },
    kill9: async () => {
      proc.kill('SIGKILL')
      await exited
    }
  }
}

/** Linux: a process's command line and what each of its threads waits in (kernel wchan), for a node that hangs. */
function whereStuck (pid: number): string {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
    const threads = readdirSync(`/proc/${pid}/task`).map((tid) => {
      const read = (f: string): string => { try { return readFileSync(`/proc/${pid}/task/${tid}/${f}`, 'utf8').trim() } catch { return '?' } }
      return `${read('comm')}:${read('wchan')}`
    })
    return `; cmdline: ${cmdline}; threads (name:wchan): ${threads.join(' ')}`
  } catch {
    return ''
  }
}

/** Runs a lightpool CLI command to completion. */
export async function runCli (args: string[], env: Record<string, string> = {}, opts: { nice?: number } = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const proc = spawn(NODE, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  if (opts.nice !== undefined && opts.nice > 0 && proc.pid !== undefined) setPriority(proc.pid, opts.nice)
  let stdout = ''
  let stderr = ''
  proc.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await new Promise<number | null>(resolve => proc.once('exit', resolve))
  return { code, stdout, stderr }
}

/** Every pending tx hash (no 0x) of a node, following the RPC's page cursor to the end. */
export async function allPendingHashes (node: NodeProcess): Promise<Set<string>> {
  const hashes = new Set<string>()
  let after: string | undefined
  for (;;) {
    const page = await node.call<{ txs: Array<{ hash: string }>, next?: string }>('pool_getPendingTxs', [after === undefined ? { limit: 500 } : { limit: 500, after }])
    for (const t of page.txs) hashes.add(t.hash.slice(2))
    if (page.next === undefined || page.txs.length === 0) return hashes
    after = page.next
  }
}

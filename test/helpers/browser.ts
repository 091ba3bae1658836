import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { extname, join, resolve, sep } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll } from 'vitest'
import { startNodeProcess, tempDir, removeDir, type NodeProcess, type StartOptions } from './process.ts'

/**
 * Browser end-to-end helpers: build the web parts once, run real
 * `lightpool node` processes, serve static files from a second origin, and
 * drive Debian's Chromium through playwright-core.
 */
const ROOT = resolve(import.meta.dirname, '../..')
export const WEB_DIR = join(ROOT, 'dist/web')
export const LIB_DIR = join(ROOT, 'dist/lib')
export const HARNESS_DIR = join(ROOT, 'test/output/harness')
export const OUTPUT_DIR = join(ROOT, 'test/output')
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/**
 * Browser tests need Debian's Chromium (`apt-get install chromium`; .ci/run
 * installs it). On a developer machine without it they are skipped with a
 * warning; under CI a missing browser fails the run instead of passing it
 * silently.
 */
export const NO_BROWSER = !existsSync(CHROMIUM) && process.env.CI !== 'true'
if (NO_BROWSER) process.stderr.write(`\n⚠ ${CHROMIUM} not found: browser tests skipped (apt-get install -y chromium)\n`)

export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // two tabs in one test must both keep running their timers and animation frames
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'
]

// ---- building ----

function sourceStamp (): string {
  const h = createHash('sha256')
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name)
      const st = statSync(p)
      if (st.isDirectory()) walk(p)
      else h.update(`${p}:${st.size}:${st.mtimeMs}\n`)
    }
  }
  for (const d of ['web', 'src', 'test/browser/harness']) walk(join(ROOT, d))
  for (const f of ['vite.config.ts', 'package.json']) h.update(`${f}:${statSync(join(ROOT, f)).mtimeMs}\n`)
  return h.digest('hex')
}

async function withLock<T> (name: string, fn: () => Promise<T>): Promise<T> {
  const lock = join(OUTPUT_DIR, `.${name}.lock`)
  mkdirSync(OUTPUT_DIR, { recursive: true })
  const deadline = Date.now() + 180_000
  while (true) {
    try {
      mkdirSync(lock)
      break
    } catch {
      // another test file is building; a lock older than 3 minutes is stale
      try { if (Date.now() - statSync(lock).mtimeMs > 180_000) rmSync(lock, { recursive: true, force: true }) } catch {}
      if (Date.now() > deadline) throw new Error(`waited 3 min for ${lock}`)
      await new Promise(resolve => setTimeout(resolve, 200))
    }
  }
  try {
    return await fn()
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

/**
 * Builds the observer page (dist/web), the library and widget (dist/lib) and
 * the test harness page, unless a build of the same sources exists. Test
 * files may call it concurrently: one builds, the others wait.
 */
export async function ensureWebBuilt (): Promise<void> {
  await withLock('web-build', async () => {
    const stamp = sourceStamp()
    const stampFile = join(OUTPUT_DIR, '.web-build-stamp')
    if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp &&
      existsSync(join(WEB_DIR, 'index.html')) && existsSync(join(LIB_DIR, 'lightpool-widget.js')) && existsSync(join(HARNESS_DIR, 'index.html'))) return
    const { build } = await import('vite')
    const quiet = { logLevel: 'warn' as const, configFile: join(ROOT, 'vite.config.ts') }
    await build({ ...quiet, mode: 'web' })
    await build({ ...quiet, mode: 'lib' })
    await build({
      logLevel: 'warn',
      configFile: false,
      root: join(ROOT, 'test/browser/harness'),
      base: './',
      build: { outDir: HARNESS_DIR, emptyOutDir: true, target: 'es2022', sourcemap: true, chunkSizeWarningLimit: 4000 }
    })
    writeFileSync(stampFile, stamp)
  })
}

// ---- the browser ----

export async function launchChromium (): Promise<Browser> {
  // playwright gives every launched browser a fresh temporary --user-data-dir
  return await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true })
}

/** Collects a page's console errors and uncaught exceptions (printed if a test fails). */
export function watchConsole (page: Page, label: string, lines: string[] = []): string[] {
  page.on('console', (msg) => { if (msg.type() === 'error' || msg.type() === 'warning') lines.push(`[${label} ${msg.type()}] ${msg.text()}`) })
  page.on('pageerror', (err) => { lines.push(`[${label} pageerror] ${err.message}`) })
  return lines
}

// ---- lightpool nodes ----

export interface TestNode extends NodeProcess {
  dataDir: string
  wsAddr: string
  httpUrl: string
  ports: { tcp: number, ws: number, http: number }
}

/** A relay node for browser tests: loopback, free ports, relay limits lifted, RPC rate limit lifted, serving dist/web. */
export async function startRelayNode (opts: Partial<StartOptions> & { network: string }): Promise<TestNode> {
  const dataDir = opts.dataDir ?? tempDir('lightpool-browser-')
  const node = await startNodeProcess({
    ...opts,
    dataDir,
    args: ['--relay-unlimited', '--rpc-rate-limit', '100000', '--rpc-max-batch', '1000', '--min-peers', '0', '--web-dir', WEB_DIR, '--log-level', 'info', ...(opts.args ?? [])]
  })
  const wsAddr = node.info.browserAddrs[0]
  if (wsAddr === undefined) throw new Error('the node has no WebSocket address')
  const httpUrl = node.info.observer.replace(/\/$/, '')
  const port = (re: RegExp, s: string): number => Number(re.exec(s)?.[1])
  return Object.assign(node, {
    dataDir,
    wsAddr,
    httpUrl,
    ports: {
      tcp: port(/\/tcp\/(\d+)\/p2p/, node.tcpAddr),
      ws: port(/\/tcp\/(\d+)\/ws/, wsAddr),
      http: port(/:(\d+)$/, httpUrl)
    }
  })
}

export { tempDir, removeDir }

// ---- a second origin ----

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png'
}

export interface StaticServer {
  url: string
  port: number
  close: () => Promise<void>
}

/**
 * A tiny static file server: `mounts` maps a URL prefix to a directory, and
 * `pages` maps a path to literal HTML. A fixed `port` keeps an origin (and so
 * its IndexedDB) across server restarts. With `tls` (PEM certificate and key)
 * it serves https.
 */
export async function startStaticServer (opts: { mounts?: Record<string, string>, pages?: Record<string, string>, port?: number, tls?: { cert: string, key: string } }): Promise<StaticServer> {
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
    const page = opts.pages?.[path]
    if (page !== undefined) {
      res.writeHead(200, { 'content-type': MIME['.html']!, 'cache-control': 'no-store' })
      res.end(page)
      return
    }
    for (const [prefix, dir] of Object.entries(opts.mounts ?? {})) {
      if (!path.startsWith(prefix)) continue
      let file = join(dir, path.slice(prefix.length))
      if (!file.startsWith(dir + sep) && file !== dir) break
      if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html')
      if (!existsSync(file)) break
      res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' })
      res.end(readFileSync(file))
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain' })
    res.end('not found')
  }
  const server: Server = opts.tls === undefined ? createServer(handler) : createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, handler)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, '127.0.0.1', () => { resolve() })
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    url: `${opts.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    port,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => { resolve() }))
    }
  }
}

// ---- waiting ----

export async function waitUntil (cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/** What `lightpool send` is to send: `count` signed demo txs over the node's JSON-RPC. */
interface SendOptions {
  count: number
  rate?: number
  size?: number
  fee?: string
  /** niceness of the sending process (a load that stands for other machines) */
  nice?: number
}

/**
 * `lightpool send` against `rpc`: the hashes it printed and the counts of its
 * summary line, whatever its exit code (a long load may see some sends fail);
 * throws only when it printed no summary (it crashed).
 */
export async function sendTxsCounted (rpc: string, opts: SendOptions): Promise<{ hashes: string[], accepted: number, failed: number, code: number | null, stderr: string }> {
  const { runCli } = await import('./process.ts')
  const r = await runCli(['send', '--rpc', rpc, '--count', String(opts.count), '--rate', String(opts.rate ?? 100),
    '--size', String(opts.size ?? 2000), '--fee', opts.fee ?? '10-5000', '--concurrency', '16'], {}, { nice: opts.nice })
  const summary = r.stderr.trim().split('\n').reverse().map(l => { try { return JSON.parse(l) as { accepted?: number, failed?: number } } catch { return undefined } }).find(s => s?.accepted !== undefined)
  if (summary === undefined) throw new Error(`lightpool send printed no summary (exit ${String(r.code)}): ${r.stderr.slice(-2000)}`)
  return {
    hashes: r.stdout.split('\n').map(s => s.trim().replace(/^0x/, '')).filter(s => /^[0-9a-f]{64}$/.test(s)),
    accepted: summary.accepted ?? 0,
    failed: summary.failed ?? 0,
    code: r.code,
    stderr: r.stderr
  }
}

/** `lightpool send` that must succeed in full: the hashes of the txs sent. */
export async function sendTxs (rpc: string, opts: SendOptions): Promise<string[]> {
  const r = await sendTxsCounted(rpc, opts)
  if (r.code !== 0) throw new Error(`lightpool send failed (${String(r.code)}): ${r.stderr}`)
  return r.hashes
}

/** What `useSiteAndChromium` sets up for a test file; read its fields inside tests, not at collection. */
export interface SiteAndChromium {
  browser: Browser
  site: StaticServer
  /** Relay nodes a test started: stopped and their data dirs removed after the file. */
  nodes: TestNode[]
  logs: string[]
}

/**
 * Registers, for the enclosing describe, the life cycle shared by tests that
 * open the observer as a static site on its own origin: the web build, the
 * site, Chromium, and teardown of every node the tests push to `nodes`.
 */
export function useSiteAndChromium (): SiteAndChromium {
  const fixture = { nodes: [], logs: [] } as unknown as SiteAndChromium
  beforeAll(async () => {
    await ensureWebBuilt()
    fixture.site = await startStaticServer({ mounts: { '/': WEB_DIR } })
    fixture.browser = await launchChromium()
  })
  afterAll(async () => {
    await fixture.browser?.close()
    await fixture.site?.close()
    for (const n of fixture.nodes) {
      await n.stop().catch(() => {})
      removeDir(n.dataDir)
    }
  })
  return fixture
}

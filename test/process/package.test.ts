import { execFile, execFileSync } from 'node:child_process'
import { cpSync, readFileSync, realpathSync, writeFileSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureWebBuilt, launchChromium, NO_BROWSER, startStaticServer, waitUntil, watchConsole } from '../helpers/browser.ts'
import { NODE, removeDir, startNodeProcess, tempDir, type NodeProcess } from '../helpers/process.ts'

/**
 * The package as a user gets it: `npm pack` once (of what `prepare` builds), the
 * tarball checked by publint and attw, then installed with `npm install
 * <tarball>` into an empty project in the temp folder, where nothing of this
 * repository's sources can be resolved. There: the `lightpool` command, the
 * "." and "./node" entries in a Node program, "./web" bundled by the
 * consumer's own Vite build and run in Chromium, and a type check against the
 * installed .d.ts. One pack and one install for the whole file (~2 min here,
 * most of it npm extracting libp2p's dependency tree).
 */
const ROOT = join(import.meta.dirname, '../..')
const CONSUMER_FILES = join(import.meta.dirname, 'package-consumer')
const NETWORK = 'pkgtest'
const exec = promisify(execFile)

/** Node 22's folder first on PATH: the installed bin's `#!/usr/bin/env node` and npm then run on it. */
const NODE_DIR = dirname(realpathSync(NODE))
/** The child's environment without npm's own variables (an `npm test` run sets npm_config_* that would point a nested npm at this repository). */
function cleanEnv (): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^npm_/i.test(k) && k !== 'INIT_CWD') env[k] = v
  env.PATH = `${NODE_DIR}${delimiter}${env.PATH ?? ''}`
  return env
}

/** The version of a dev tool installed here, so the consumer's install of it comes from npm's cache. */
const versionHere = (name: string): string => (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version

/** A Node older than 22 on this machine (Debian's is 20), to see the CLI refuse it; undefined if there is none. */
function olderNode (): string | undefined {
  let candidates = ['/usr/bin/node', '/usr/local/bin/node']
  try { candidates = [...execFileSync('which', ['-a', 'node'], { encoding: 'utf8' }).split('\n').filter(Boolean), ...candidates] } catch {}
  for (const path of candidates) {
    try {
      const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim()
      if (Number(/^v(\d+)/.exec(version)?.[1]) < 22) return path
    } catch {}
  }
  return undefined
}
const OLD_NODE = olderNode()

let work: string
let tarball: string
let app: string
let cliNode: NodeProcess | undefined

async function run (file: string, args: string[], cwd: string, timeout = 300_000): Promise<{ stdout: string, stderr: string }> {
  try {
    return await exec(file, args, { cwd, env: cleanEnv(), timeout, maxBuffer: 64 * 1024 * 1024 })
  } catch (err) {
    const e = err as Error & { stdout?: string, stderr?: string, code?: unknown }
    throw new Error(`${file} ${args.join(' ')} failed (${String(e.code)}): ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`)
  }
}

beforeAll(async () => {
  work = tempDir('lightpool-package-')
  // What `prepare` builds, without its rebuild of dist/web and dist/lib under
  // the browser tests running beside this file: those come from the shared,
  // locked build they use, dist/js (read by nothing else) from build:js.
  await ensureWebBuilt()
  await run('npm', ['run', 'build:js'], ROOT)
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work], ROOT)
  tarball = join(work, `lightpool-${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}.tgz`)
  app = join(work, 'app')
  cpSync(CONSUMER_FILES, app, { recursive: true })
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'lightpool-consumer', private: true, type: 'module' }, null, 2))
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball,
    `vite@${versionHere('vite')}`, `typescript@${versionHere('typescript')}`, `@types/node@${versionHere('@types/node')}`], app, 600_000)
}, 900_000)

afterAll(async () => {
  if (cliNode?.proc.exitCode === null) await cliNode.stop()
  if (work !== undefined) removeDir(work)
}, 300_000)

describe('the installed package', () => {
  it('ships built JavaScript and types, no tests, and passes publint and attw (ESM)', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball], work)
    const files = stdout.split('\n').filter(Boolean).map(f => f.replace(/^package\//, ''))
    for (const f of ['deploy/lightpool.service', 'deploy/relay.json', 'dist/js/src/index.js', 'dist/js/src/index.d.ts', 'dist/js/node/index.js', 'dist/js/node/cli/bin.js', 'dist/js/web/index.d.ts', 'dist/lib/lightpool.js', 'dist/lib/lightpool-widget.js', 'dist/web/index.html']) {
      expect(files).toContain(f)
    }
    expect(files.filter(f => /(^|\/)test\/|\.test\.|bench|fixtures/.test(f))).toEqual([])
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules/lightpool/package.json'), 'utf8')) as { dependencies: Record<string, string> }
    expect(manifest.dependencies.node).toBeUndefined()

    await run(join(ROOT, 'node_modules/.bin/publint'), ['run', tarball, '--strict'], work)
    await run(join(ROOT, 'node_modules/.bin/attw'), [tarball, '--profile', 'esm-only'], work)
  })

  it('`lightpool --help` works, and an old Node gets one line naming the version needed', async () => {
    const bin = join(app, 'node_modules/.bin/lightpool')
    const help = await run(bin, ['--help'], app)
    expect(help.stdout).toMatch(/node \[options\]/)
    expect(help.stdout).toMatch(/send \[options\]/)
    // the shipped example relay config passes the shipped CLI's check (deploy/lightpool.service's ExecStartPre)
    const checked = await run(bin, ['node', '--config', join(app, 'node_modules/lightpool/deploy/relay.json'), '--check'], app)
    expect(JSON.parse(checked.stdout)).toMatchObject({ relay: true })
    if (OLD_NODE === undefined) return
    const old = await exec(OLD_NODE, [join(app, 'node_modules/lightpool/dist/js/node/cli/bin.js'), '--help'], { cwd: app }).then(() => undefined, (err: unknown) => err as { code: number, stderr: string })
    expect(old?.code).toBe(1)
    expect(old?.stderr.trim().split('\n')).toHaveLength(1)
    expect(old?.stderr).toMatch(/needs Node\.js 22 or newer; this is Node\.js 2\d\./)
  })

  it('`lightpool node` starts on free ports and serves /health and the observer page', async () => {
    cliNode = await startNodeProcess({
      dataDir: join(work, 'cli-node'),
      network: NETWORK,
      bin: join(app, 'node_modules/lightpool/dist/js/node/cli/bin.js'),
      cwd: app,
      env: cleanEnv(),
      args: ['--relay-unlimited', '--min-peers', '0']
    })
    const base = cliNode.info.observer.replace(/\/$/, '')
    const health = await (await fetch(`${base}/health`)).json() as { status: string, network: string }
    expect(health).toMatchObject({ status: 'ok', network: NETWORK })
    const page = await fetch(`${base}/`)
    expect(page.headers.get('content-type')).toMatch(/html/)
    expect(await page.text()).toMatch(/<script type="module"/)
    expect((await fetch(`${base}/lib/lightpool-widget.js`)).status).toBe(200)
  })

  it('a Node program imports lightpool and lightpool/node, signs a tx, runs a node and submits it', async () => {
    expect(cliNode).toBeDefined()
    const { stdout } = await run(NODE, ['use-node.mjs', cliNode!.tcpAddr, cliNode!.info.rpc, NETWORK], app, 120_000)
    const { hash } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { hash: string }
    expect(await cliNode!.call('pool_getTxStatus', [`0x${hash}`])).toMatchObject({ status: 'pending' })
  })

  it('type-checks a consumer .ts file against the installed types', async () => {
    await run(join(app, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], app)
  })

  it.skipIf(NO_BROWSER)('lightpool/web bundled by a consumer Vite app connects to the node in Chromium and lists its tx', async () => {
    expect(cliNode).toBeDefined()
    const pending = await cliNode!.call<{ txs: Array<{ hash: string }> }>('pool_getPendingTxs', [{ limit: 10 }])
    const hash = pending.txs[0]?.hash.replace(/^0x/, '')
    expect(hash).toMatch(/^[0-9a-f]{64}$/)
    await run(join(app, 'node_modules/.bin/vite'), ['build'], app)
    const site = await startStaticServer({ mounts: { '/': join(app, 'dist') } })
    const browser = await launchChromium()
    const logs: string[] = []
    try {
      const page = await browser.newPage()
      watchConsole(page, 'consumer', logs)
      const relay = cliNode!.info.browserAddrs[0]!
      await page.goto(`${site.url}/?relay=${encodeURIComponent(relay)}&network=${NETWORK}`)
      await waitUntil(async () => ((await page.textContent('#txs')) ?? '').includes(hash!), 60_000, 'the tx listed by the consumer page')
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${logs.join('\n')}`)
    } finally {
      await browser.close()
      await site.close()
    }
  })
})

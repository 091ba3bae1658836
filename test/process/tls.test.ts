import { copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { Agent, get, request } from 'node:https'
import { connect as connectTcp } from 'node:net'
import { connect } from 'node:tls'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { removeDir, runCli, startNodeProcess, tempDir, type NodeProcess } from '../helpers/process.ts'
import { waitFor } from '../helpers/network.ts'
import { makeCert, servedFingerprint, type TestCert } from '../helpers/tls.ts'

/**
 * `lightpool node --tls-cert --tls-key` as an operator meets it: a bad pair
 * is refused before anything starts (exit 2, one line naming the problem and
 * the remedy), both with `--check` and at a real start; a good one serves
 * https and wss, reports its remaining lifetime, and is re-read on SIGHUP.
 */
let dir: string
let good: TestCert
let other: TestCert
let expired: TestCert
let future: TestCert

beforeAll(() => {
  dir = tempDir('lightpool-tls-')
  good = makeCert(dir, 'good', { days: 30 })
  other = makeCert(dir, 'other', { days: 30 })
  expired = makeCert(dir, 'expired', { startDate: '20200101000000Z', endDate: '20200102000000Z' })
  future = makeCert(dir, 'future', { startDate: '20980101000000Z', endDate: '20990101000000Z' })
  writeFileSync(join(dir, 'garbage.pem'), 'this is not PEM\n')
})
afterAll(() => { removeDir(dir) })

async function check (args: string[]): Promise<{ code: number | null, stderr: string }> {
  const data = join(dir, `data-${Math.random().toString(36).slice(2)}`)
  return await runCli(['node', '--check', '--data-dir', data, ...args])
}

async function getText (url: string, ca: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => { resolve(body) })
    }).once('error', reject)
  })
}

function metric (text: string, line: RegExp): number {
  const m = text.split('\n').map(l => line.exec(l)).find(x => x !== null)
  return m === undefined ? NaN : Number(m[1])
}

describe('lightpool node --tls-cert/--tls-key (process)', () => {
  const cases: Array<[string, () => string[], RegExp]> = [
    ['a missing certificate file', () => ['--tls-cert', join(dir, 'nope.pem'), '--tls-key', good.keyFile], /--tls-cert \S+nope\.pem: cannot read the certificate \(ENOENT\); give the path of the PEM file/],
    ['a file that is not PEM', () => ['--tls-cert', join(dir, 'garbage.pem'), '--tls-key', good.keyFile], /--tls-cert \S+garbage\.pem: not a PEM certificate .*; give the certificate \(certbot: fullchain\.pem\)/],
    ['the files swapped', () => ['--tls-cert', good.keyFile, '--tls-key', good.certFile], /it holds a private key; are --tls-cert and --tls-key swapped\?/],
    ['a key that is not the certificate\'s', () => ['--tls-cert', good.certFile, '--tls-key', other.keyFile], /--tls-key \S+other\.key\.pem is not the key of --tls-cert \S+good\.cert\.pem .*give the key the certificate was issued for/],
    ['an expired certificate', () => ['--tls-cert', expired.certFile, '--tls-key', expired.keyFile], /the certificate expired on 2020-01-02T00:00:00\.000Z; renew it \(certbot renew\) and start again/],
    ['a certificate not valid yet', () => ['--tls-cert', future.certFile, '--tls-key', future.keyFile], /the certificate is not valid before 2098-01-01T00:00:00\.000Z; check this machine's clock/],
    ['a certificate without its key', () => ['--tls-cert', good.certFile], /--tls-cert needs --tls-key: give both/],
    ['plain /ws announced on the wss port', () => ['--tls-cert', good.certFile, '--tls-key', good.keyFile, '--ws-port', '9001', '--announce', '/dns4/pool.example.org/tcp/9001/ws'], /--announce \/dns4\/pool\.example\.org\/tcp\/9001\/ws: with --tls-cert the WebSocket port serves wss only; announce it as …\/tls\/ws/]
  ]
  for (const [what, args, message] of cases) {
    it(`--check refuses ${what}: exit 2 and one line saying what to do`, async () => {
      const r = await check(args())
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(message)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
    }, 30_000)
  }

  it('a real start with an expired certificate exits 2 before opening anything', async () => {
    const data = join(dir, 'data-expired')
    const r = await runCli(['node', '--data-dir', data, '--host', '127.0.0.1', '--tcp-port', '0', '--ws-port', '0', '--http-port', '0', '--tls-cert', expired.certFile, '--tls-key', expired.keyFile])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/expired on 2020-01-02/)
    expect(existsSync(data)).toBe(false)
  }, 30_000)

  it('https and wss close connections never used and keep those in use, as http and ws do', async () => {
    const data = tempDir()
    let node: NodeProcess | undefined
    try {
      node = await startNodeProcess({ dataDir: data, args: ['--tls-cert', good.certFile, '--tls-key', good.keyFile, '--min-peers', '0', '--rpc-idle-timeout', '2000', '--p2p-idle-timeout', '1000'] })
      const port = Number(new URL(node.info.rpc).port)
      // requests every 300 ms for 4 s, twice the idle timeout: one socket throughout (the agent
      // itself gives a socket up 1 s before the server's Keep-Alive hint, hence not 1 s)
      const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: good.cert })
      const sockets = new Set<unknown>()
      for (let i = 0; i < 13; i++) {
        await new Promise<void>((resolve, reject) => {
          const req = request(node!.info.rpc, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => { res.resume(); res.on('end', resolve) })
          req.on('socket', (sock) => { sockets.add(sock) })
          req.once('error', reject)
          req.end(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'pool_getPendingTxCount', params: [] }))
        })
        await new Promise(resolve => setTimeout(resolve, 300))
      }
      agent.destroy()
      expect(sockets.size).toBe(1)
      // a handshake and then nothing: closed by the node
      await new Promise<void>((resolve, reject) => {
        const idle = connect({ host: '127.0.0.1', port, ca: good.cert, servername: 'localhost' })
        idle.once('error', reject)
        idle.once('close', () => { resolve() })
        idle.resume()
      })
      // on the wss port: a socket that never sends a byte, and one silent after its handshake
      // (the tab in test/browser/wss.test.ts shows an upgraded one is kept)
      const wsPort = Number(/\/tcp\/(\d+)\/tls\/ws/.exec(node.info.browserAddrs[0]!)?.[1])
      await new Promise<void>((resolve) => {
        const silent = connectTcp({ host: '127.0.0.1', port: wsPort })
        silent.once('error', () => {})
        silent.once('close', () => { resolve() })
        silent.resume()
      })
      let handshaken = false
      await new Promise<void>((resolve, reject) => {
        const idle = connect({ host: '127.0.0.1', port: wsPort, ca: good.cert, servername: 'localhost' }, () => { handshaken = true })
        idle.once('error', (err: Error) => { if (!handshaken) reject(err) })
        idle.once('close', () => { resolve() })
        idle.resume()
      })
      expect(handshaken).toBe(true)
    } finally {
      if (node !== undefined && node.proc.exitCode === null) await node.kill9()
      removeDir(data)
    }
  }, 60_000)

  it('serves https and wss, reports the expiry, and re-reads the pair on SIGHUP', async () => {
    // symlinks into another directory: changing what they point to is seen by SIGHUP alone (the watcher sees the links' directory)
    const links = join(dir, 'links')
    const store = join(dir, 'store')
    mkdirSync(links, { recursive: true })
    mkdirSync(store, { recursive: true })
    copyFileSync(good.certFile, join(store, 'cert.pem'))
    copyFileSync(good.keyFile, join(store, 'key.pem'))
    symlinkSync(join(store, 'cert.pem'), join(links, 'cert.pem'))
    symlinkSync(join(store, 'key.pem'), join(links, 'key.pem'))
    const data = tempDir()
    let node: NodeProcess | undefined
    try {
      node = await startNodeProcess({ dataDir: data, args: ['--tls-cert', join(links, 'cert.pem'), '--tls-key', join(links, 'key.pem'), '--min-peers', '0'] })
      expect(node.info.rpc).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/rpc$/)
      expect(node.info.browserAddrs[0]).toMatch(/\/tls\/ws\/p2p\//)
      const httpPort = Number(new URL(node.info.rpc).port)
      const wsPort = Number(/\/tcp\/(\d+)\/tls\/ws/.exec(node.info.browserAddrs[0]!)?.[1])
      expect(await servedFingerprint(httpPort)).toBe(good.fingerprint256)
      expect(await servedFingerprint(wsPort)).toBe(good.fingerprint256)

      const metrics = await getText(node.info.rpc.replace(/\/rpc$/, '/metrics'), good.cert)
      const left = metric(metrics, /^lightpool_tls_cert_expiry_seconds (\S+)$/)
      expect(left).toBeGreaterThan(29 * 86400)
      expect(left).toBeLessThanOrEqual(30 * 86400)

      // a half-done renewal (the new certificate beside the old key) is refused, the old pair kept
      copyFileSync(other.certFile, join(store, 'cert.pem'))
      node.proc.kill('SIGHUP')
      await waitFor(() => node!.logs.some(l => typeof l.msg === 'string' && l.msg.startsWith('TLS reload failed, keeping the current certificate')), 15_000, 'the failed reload')
      expect(await servedFingerprint(httpPort)).toBe(good.fingerprint256)
      // then the key follows, and SIGHUP picks the pair up
      copyFileSync(other.keyFile, join(store, 'key.pem'))
      node.proc.kill('SIGHUP')
      await waitFor(() => node!.logs.some(l => l.msg === 'TLS certificate reloaded: new connections use it, open ones keep theirs'), 15_000, 'the reload')
      expect(await servedFingerprint(httpPort)).toBe(other.fingerprint256)
      expect(await servedFingerprint(wsPort)).toBe(other.fingerprint256)
      const after = await getText(node.info.rpc.replace(/\/rpc$/, '/metrics'), other.cert)
      expect(metric(after, /^lightpool_tls_reloads_total\{outcome="ok"\} (\S+)$/)).toBe(1)
      expect(metric(after, /^lightpool_tls_reloads_total\{outcome="failed"\} (\S+)$/)).toBe(1)
      expect(node.proc.exitCode).toBeNull()
      expect(await node.stop()).toBe(0)
    } finally {
      if (node !== undefined && node.proc.exitCode === null) await node.kill9()
      removeDir(data)
    }
  }, 90_000)
})

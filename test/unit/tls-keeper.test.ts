import { copyFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_TLS_CONFIG, loadTlsMaterial, plainWsAnnounced, TlsKeeper, uncoveredNames, type TlsMaterial } from '../../node/tls.ts'
import { removeDir, tempDir } from '../helpers/process.ts'
import { waitFor } from '../helpers/network.ts'
import { makeCert, type TestCert } from '../helpers/tls.ts'

/**
 * node/tls.ts without a node: the checks, and the keeper's reloads (a
 * burst of file changes read once, a bad pair refused, the same pair not
 * announced again).
 */
let dir: string
let a: TestCert
let b: TestCert

beforeAll(() => {
  dir = tempDir('lightpool-tls-unit-')
  a = makeCert(dir, 'a', { san: 'DNS:pool.example.org,DNS:*.example.net' })
  b = makeCert(dir, 'b')
})
afterAll(() => { removeDir(dir) })

const quiet = { info: () => {}, warn: () => {} }

describe('node/tls.ts', () => {
  it('names the announced DNS names the certificate does not cover, on WebSocket addresses only', () => {
    const m = loadTlsMaterial({ certFile: a.certFile, keyFile: a.keyFile })
    expect(uncoveredNames(m, [
      '/dns4/pool.example.org/tcp/9001/tls/ws',
      '/dns4/x.example.net/tcp/443/wss',
      '/dns4/other.example.org/tcp/9001/tls/ws',
      '/dns4/tcp-only.example.org/tcp/9000'
    ])).toEqual(['other.example.org'])
  })

  it('finds plain /ws announced on the TLS port, not /tls/ws, /wss or another port', () => {
    expect(plainWsAnnounced(['/dns4/a/tcp/9001/ws', '/dns4/a/tcp/9001/tls/ws', '/dns4/a/tcp/443/wss', '/dns4/a/tcp/8000/ws'], 9001)).toEqual(['/dns4/a/tcp/9001/ws'])
  })

  it('reads a burst of changes once, refuses a bad pair, and ignores the same pair', async () => {
    const certFile = join(dir, 'live-cert.pem')
    const keyFile = join(dir, 'live-key.pem')
    copyFileSync(a.certFile, certFile)
    copyFileSync(a.keyFile, keyFile)
    const seen: TlsMaterial[] = []
    const keeper = new TlsKeeper({ files: { certFile, keyFile }, log: quiet, sighup: false, reloadDebounceMs: 200 })
    keeper.subscribe((m) => { seen.push(m) })
    keeper.start()
    try {
      expect(keeper.config).toEqual({ ...DEFAULT_TLS_CONFIG, reloadDebounceMs: 200 })
      expect(keeper.current().fingerprint256).toBe(a.fingerprint256)
      expect(keeper.expirySeconds()).toBeGreaterThan(29 * 86400)

      // certbot-like: the certificate, then the key, a moment apart
      copyFileSync(b.certFile, certFile)
      copyFileSync(b.keyFile, keyFile)
      await waitFor(() => seen.length === 1, 10_000, 'the reload')
      expect(seen[0]!.fingerprint256).toBe(b.fingerprint256)
      expect(keeper.reloads.ok).toBe(1)

      // a half-written certificate: refused, the current pair kept, nobody told
      writeFileSync(certFile, '-----BEGIN CERTIFICATE-----\nMIIB\n')
      await waitFor(() => keeper.reloads.failed === 1, 10_000, 'the failed reload')
      expect(keeper.current().fingerprint256).toBe(b.fingerprint256)

      // the whole file again: the same pair as served, so no subscriber is called
      copyFileSync(b.certFile, certFile)
      await waitFor(() => keeper.reloads.unchanged === 1, 10_000, 'the unchanged reload')
      expect(seen).toHaveLength(1)

      // an explicit reload (what SIGHUP does) with nothing changed
      expect(keeper.reload('test')).toBe(false)
    } finally {
      keeper.stop()
    }
  }, 30_000)
})

import { execFileSync } from 'node:child_process'
import { createHash, createPublicKey } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import { connect } from 'node:tls'

/**
 * Test certificates made with openssl (Debian's `openssl`; `apt-get install
 * openssl`), the SPKI pins Chromium is told to trust
 * (`--ignore-certificate-errors-spki-list`), and clients that check which
 * certificate a port serves.
 */
export interface TestCert {
  certFile: string
  keyFile: string
  cert: string
  key: string
  /** base64 SHA-256 of the SubjectPublicKeyInfo: Chromium's pin format */
  spki: string
  /** SHA-256 fingerprint as Node prints it (AB:CD:…) */
  fingerprint256: string
}

export interface CertOptions {
  /** Default "DNS:localhost,IP:127.0.0.1". */
  san?: string
  /** Lifetime in days from now. Default 30. */
  days?: number
  /** Dates in openssl's YYYYMMDDHHMMSSZ form, for an expired or future certificate (instead of `days`). */
  startDate?: string
  endDate?: string
}

function openssl (args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
}

/** A self-signed P-256 certificate and its key in `dir/name.cert.pem` and `dir/name.key.pem`. */
export function makeCert (dir: string, name: string, opts: CertOptions = {}): TestCert {
  mkdirSync(dir, { recursive: true })
  const certFile = join(dir, `${name}.cert.pem`)
  const keyFile = join(dir, `${name}.key.pem`)
  const san = opts.san ?? 'DNS:localhost,IP:127.0.0.1'
  if (opts.startDate === undefined) {
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile,
      '-days', String(opts.days ?? 30), '-subj', `/CN=${name}`, '-addext', `subjectAltName=${san}`], dir)
  } else {
    // `openssl req -x509` takes no start date: a one-shot self-signing "CA" does
    const work = join(dir, `${name}.ca`)
    mkdirSync(work, { recursive: true })
    writeFileSync(join(work, 'index.txt'), '')
    writeFileSync(join(work, 'serial'), '01\n')
    writeFileSync(join(work, 'ca.cnf'), '[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = p\nunique_subject = no\ncopy_extensions = copy\n[p]\ncommonName = supplied\n')
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', 'req.csr',
      '-subj', `/CN=${name}`, '-addext', `subjectAltName=${san}`], work)
    openssl(['ca', '-batch', '-config', 'ca.cnf', '-selfsign', '-keyfile', keyFile, '-in', 'req.csr', '-out', certFile, '-notext',
      '-startdate', opts.startDate, '-enddate', opts.endDate ?? '20991231000000Z'], work)
  }
  const cert = readFileSync(certFile, 'utf8')
  return { certFile, keyFile, cert, key: readFileSync(keyFile, 'utf8'), spki: spkiPin(cert), fingerprint256: fingerprint(cert) }
}

function spkiPin (certPem: string): string {
  const der = createPublicKey(certPem).export({ type: 'spki', format: 'der' })
  return createHash('sha256').update(der).digest('base64')
}

function fingerprint (certPem: string): string {
  // the same form as X509Certificate.fingerprint256 and tls' getPeerX509Certificate()
  const der = Buffer.from(certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64')
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':')
}

/** The SHA-256 fingerprint of the certificate a TLS port serves now (a fresh handshake). */
export async function servedFingerprint (port: number, host = '127.0.0.1'): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = connect({ host, port, servername: 'localhost', rejectUnauthorized: false }, () => {
      const fp = socket.getPeerX509Certificate()?.fingerprint256
      socket.destroy()
      if (fp === undefined) reject(new Error('no peer certificate'))
      else resolve(fp)
    })
    socket.once('error', reject)
  })
}

/** One JSON-RPC call over https, trusting only `ca` (the node's self-signed certificate). */
export async function httpsCall<T> (url: string, method: string, params: unknown, ca: string): Promise<T> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method, params })
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(url, { method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let data = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { data += d })
      res.on('end', () => { resolve(data) })
      res.on('error', reject)
    })
    req.once('error', reject)
    req.end(body)
  })
  const reply = JSON.parse(text) as { result?: T, error?: { message: string } }
  if (reply.error !== undefined) throw new Error(`${method}: ${reply.error.message}`)
  return reply.result as T
}

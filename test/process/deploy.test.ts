import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { NODE, removeDir, runCli, tempDir } from '../helpers/process.ts'

/**
 * deploy/: the systemd unit and the example relay config. The unit's own
 * command lines are run (with this repository's CLI standing in for the
 * installed /usr/local/bin/lightpool, and deploy/relay.json for
 * /etc/lightpool/relay.json), so a flag the CLI does not know, or a setting
 * the config gets wrong, fails here rather than on an operator's machine.
 */
const ROOT = resolve(import.meta.dirname, '../..')
const UNIT = join(ROOT, 'deploy/lightpool.service')
const CONFIG = join(ROOT, 'deploy/relay.json')
const INSTALLED_BIN = '/usr/local/bin/lightpool'
const INSTALLED_CONFIG = '/etc/lightpool/relay.json'

/** One CLI start loads libp2p and LMDB: ~2 s idle, 25 s seen on this machine under five helpers' test runs. */
const CLI_TIMEOUT_MS = 120_000

const work = tempDir('lightpool-deploy-')
afterAll(() => { removeDir(work) })

/** The unit's value for `key` in [Service] (one line each; the unit uses no quoting or continuation lines). */
function serviceValue (key: string): string {
  const line = readFileSync(UNIT, 'utf8').split('\n').find(l => l.startsWith(`${key}=`))
  if (line === undefined) throw new Error(`${UNIT} has no ${key}=`)
  return line.slice(key.length + 1)
}

/** A command line of the unit, pointed at this repository's CLI and example config. */
function localArgs (commandLine: string): string[] {
  const [bin, ...args] = commandLine.trim().split(/\s+/)
  expect(bin).toBe(INSTALLED_BIN)
  return args.map(a => a === INSTALLED_CONFIG ? CONFIG : a)
}

describe('deploy/', () => {
  it('the unit\'s ExecStartPre validates the example config, and ExecStart is the same command without --check', async () => {
    const pre = localArgs(serviceValue('ExecStartPre'))
    const start = localArgs(serviceValue('ExecStart'))
    expect(pre).toEqual([...start, '--check'])
    const checked = await runCli(pre)
    expect(checked.stderr).toBe('')
    expect(checked.code).toBe(0)
    const config = JSON.parse(checked.stdout) as Record<string, unknown>
    // the config's data dir is the unit's StateDirectory, the one path ProtectSystem=strict leaves writable
    expect(config.dataDir).toBe(`/var/lib/${serviceValue('StateDirectory')}`)
    expect(config).toMatchObject({ relay: true, host: '0.0.0.0', rpcAdmin: false })
    // exit code 2 is what RestartPreventExitStatus keeps from a crash loop
    expect(serviceValue('RestartPreventExitStatus')).toBe('2')
  }, CLI_TIMEOUT_MS)

  it('--check refuses a bad config with exit code 2 and the setting at fault', async () => {
    const bad = join(work, 'bad.json')
    writeFileSync(bad, JSON.stringify({ ...JSON.parse(readFileSync(CONFIG, 'utf8')) as object, tcpPort: 70_000 }))
    const r = await runCli(['node', '--config', bad, '--check'])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toMatch(/tcpPort.*at most 65535/)
    expect(r.stdout).toBe('')
  }, CLI_TIMEOUT_MS)

  it.skipIf(!existsSync('/usr/bin/systemd-analyze'))('systemd-analyze verify accepts the unit', () => {
    // a stand-in for the installed command, so verify's executable check passes
    const bin = join(work, 'lightpool')
    writeFileSync(bin, `#!/bin/sh\nexec ${NODE} ${join(ROOT, 'node/cli/bin.ts')} "$@"\n`)
    chmodSync(bin, 0o755)
    const unit = join(work, 'lightpool.service')
    writeFileSync(unit, readFileSync(UNIT, 'utf8').replaceAll(INSTALLED_BIN, bin).replaceAll(INSTALLED_CONFIG, CONFIG))
    const r = spawnSync('/usr/bin/systemd-analyze', ['verify', unit], { encoding: 'utf8', timeout: 60_000 })
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('')
    expect(r.status).toBe(0)
  })
})

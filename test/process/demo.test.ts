import { describe, expect, it } from 'vitest'
import { runCli } from '../helpers/process.ts'

/**
 * `npm run demo` (`lightpool demo`): one command starts a relay and full
 * nodes and a load at three fee bands, and prints the observer URL; with
 * --seconds it stops on its own and reports what the relay's pool holds.
 */
/** The demo's log lines this test reads. */
interface DemoLogLine {
  msg?: string
  observer?: string
  fullNodes?: unknown[]
  relayFeeEstimate?: { projected: Array<{ txs: number, maxFee: string, minFee: string }> }
}

describe('lightpool demo', () => {
  it('starts a relay, full nodes and a load at varied fees, prints the observer URL, and the relay fills up', async () => {
    const r = await runCli(['demo', '--nodes', '2', '--rate', '10', '--size', '4000', '--http-port', '0', '--seconds', '15'])
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as DemoLogLine)
    const running = lines.find(l => l.msg === 'lightpool demo running')!
    expect(running.observer).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    expect(running.fullNodes).toHaveLength(2)
    expect(r.stderr).toContain(`Open the observer:  ${running.observer ?? ''}`)
    const stopped = lines.find(l => l.msg === 'lightpool demo stopped')!
    // txs sent to the full nodes reached the relay, at fees from more than one band
    const next = stopped.relayFeeEstimate!.projected[0]!
    expect(next.txs).toBeGreaterThan(10)
    expect(BigInt(next.maxFee)).toBeGreaterThan(BigInt(next.minFee) * 10n)
  }, 120_000)
})

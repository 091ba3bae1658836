/** The `lightpool` command line: `node` runs a node, `send` submits txs, `demo` runs a small local network with load. Started by bin.ts once the Node version is checked. */
import { Command } from 'commander'
import { LIGHTPOOL_VERSION } from '../../src/index.ts'
import { demoCommand } from './demo-command.ts'
import { nodeCommand } from './node-command.ts'
import { sendCommand } from './send-command.ts'

const program = new Command('lightpool')
  .description('lightpool: an isomorphic transaction pool with announce-then-fetch gossip')
  .version(LIGHTPOOL_VERSION)
  .addCommand(nodeCommand())
  .addCommand(sendCommand())
  .addCommand(demoCommand())

try {
  await program.parseAsync(process.argv)
} catch (err) {
  // a bad argument or file: one line saying what is wrong, not a stack trace
  // (a bug still shows its stack with LIGHTPOOL_DEBUG=1)
  process.stderr.write(`lightpool: ${(err as Error).message}\n`)
  if (process.env.LIGHTPOOL_DEBUG === '1') process.stderr.write(`${(err as Error).stack}\n`)
  process.exitCode = 1
}

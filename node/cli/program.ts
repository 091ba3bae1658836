/** The `lightpool` command line: `node` runs a node, `send` submits txs. Started by bin.ts once the Node version is checked. */
import { Command } from 'commander'
import { LIGHTPOOL_VERSION } from '../../src/lightpool.ts'
import { nodeCommand } from './node-command.ts'
import { sendCommand } from './send-command.ts'

const program = new Command('lightpool')
  .description('lightpool: an isomorphic transaction pool with announce-then-fetch gossip')
  .version(LIGHTPOOL_VERSION)
  .addCommand(nodeCommand())
  .addCommand(sendCommand())

await program.parseAsync(process.argv)

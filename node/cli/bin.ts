#!/usr/bin/env node
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

await program.parseAsync(process.argv)

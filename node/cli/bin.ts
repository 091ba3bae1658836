#!/usr/bin/env node
/**
 * The `lightpool` command's entry. It checks the Node version before loading
 * anything else: libp2p and the rest fail on an older Node with errors that
 * do not say why (`Promise.withResolvers is not a function`), so this file
 * uses nothing an old Node lacks and imports the program only after the check.
 */

/** Oldest Node major version lightpool runs on (libp2p 3 needs Promise.withResolvers; WebCrypto Ed25519). Keep in step with package.json "engines". */
export const MIN_NODE_MAJOR = 22

const major = Number(process.versions.node.split('.')[0])
if (!(major >= MIN_NODE_MAJOR)) {
  process.stderr.write(`lightpool needs Node.js ${MIN_NODE_MAJOR} or newer; this is Node.js ${process.versions.node} (${process.execPath})\n`)
  process.exit(1)
}
await import('./program.ts')

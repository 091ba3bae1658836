import { Command, Option } from 'commander'
import { coerce, ConfigError, envName, OPTIONS, readConfigFile, validateConfig, type NodeConfig, type OptionSpec } from '../config.ts'
import { createLogger } from '../logger.ts'
import { runNode } from '../run-node.ts'
import { DataDirError } from '../store/database.ts'
import { TlsError } from '../tls.ts'

/** Builds one commander option from its spec: flag, env variable, parser, default shown in --help. */
function toOption (spec: OptionSpec): Option {
  const flag = `--${spec.flag}`
  let option: Option
  if (spec.kind === 'bool') {
    option = spec.default === true
      ? new Option(`--no-${spec.flag}`, `do not ${spec.help}`)
      : new Option(flag, spec.help)
  } else if (spec.kind === 'list') {
    option = new Option(`${flag} <value...>`, spec.help)
      .argParser((value: string, previous: unknown) => [...(Array.isArray(previous) && previous !== spec.default ? previous as string[] : []), ...(coerce(spec, value, flag) as string[])])
  } else {
    option = new Option(`${flag} <value>`, spec.help).argParser((value: string) => coerce(spec, value, flag))
    if (spec.choices !== undefined) option = option.choices(spec.choices)
  }
  // env values arrive as strings through the same parser; booleans need ours
  if (spec.kind !== 'bool') option = option.env(envName(spec))
  return option.default(spec.default, Array.isArray(spec.default) ? 'none' : String(spec.default))
}

export function nodeCommand (): Command {
  const cmd = new Command('node')
    .description('run a lightpool node: p2p (TCP + WebSocket), relay for browsers, JSON-RPC, metrics and the observer page')
    .option('--config <file>', 'JSON file of settings (keys as below, camelCase or kebab-case); flags and env variables override it')
    .option('--check', 'validate the settings (flags, environment, config file), print the resulting ones as JSON and exit: 0 if valid, 2 if not')
  for (const spec of OPTIONS) cmd.addOption(toOption(spec))
  cmd.addHelpText('after', `
Every setting can also come from an environment variable: LIGHTPOOL_<FLAG>,
e.g. LIGHTPOOL_TCP_PORT=9100, LIGHTPOOL_BOOTSTRAP="/dns4/a/tcp/9000/p2p/… /dns4/b/…",
LIGHTPOOL_RELAY=false. Precedence: flag > environment > config file > default.`)

  cmd.action(async (opts: Record<string, unknown>) => {
    const config = resolveConfig(cmd, opts)
    if (opts.check === true) {
      // resolveConfig has exited with 2 on any invalid setting; what is left is valid
      process.stdout.write(`${JSON.stringify(config, (_, v: unknown) => typeof v === 'bigint' ? v.toString() : v, 2)}\n`)
      return
    }
    const log = createLogger(config.logLevel)
    let running: Awaited<ReturnType<typeof runNode>>
    try {
      running = await runNode(config, log)
    } catch (err) {
      if (err instanceof DataDirError || err instanceof ConfigError || err instanceof TlsError) {
        log.fatal({ err: err.message }, err.message)
        process.exit(2)
      }
      throw err
    }
    let stopping = false
    const shutdown = (signal: string): void => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting without a clean shutdown')
        process.exit(1)
      }
      stopping = true
      log.info({ signal }, 'shutting down: closing the RPC server and connections, flushing the store')
      const force = setTimeout(() => {
        log.error('shutdown took over 15 s: exiting')
        process.exit(1)
      }, 15_000)
      force.unref()
      running.stop().then(() => {
        log.info('stopped cleanly')
        process.exit(0)
      }, (err: unknown) => {
        log.error({ err }, 'shutdown failed')
        process.exit(1)
      })
    }
    process.on('SIGINT', () => { shutdown('SIGINT') })
    process.on('SIGTERM', () => { shutdown('SIGTERM') })
  })
  return cmd
}

/** Flags and env (already parsed by commander) over the config file over defaults. */
function resolveConfig (cmd: Command, opts: Record<string, unknown>): NodeConfig {
  try {
    const file = typeof opts.config === 'string' ? readConfigFile(opts.config) : {}
    const config: Record<string, unknown> = {}
    for (const spec of OPTIONS) {
      // commander names each value after its flag: --relay-data-limit → relayDataLimit
      const attribute = spec.flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
      const source = cmd.getOptionValueSource(attribute)
      let value = opts[attribute]
      if (spec.kind === 'bool' && source === 'default') {
        const env = process.env[envName(spec)]
        if (env !== undefined) value = coerce(spec, env, envName(spec))
        else if (file[spec.key] !== undefined) value = file[spec.key]
      } else if (source === 'default' && file[spec.key] !== undefined) {
        value = file[spec.key]
      }
      config[spec.key] = value
    }
    return validateConfig(config as unknown as NodeConfig)
  } catch (err) {
    if (err instanceof ConfigError || err instanceof TlsError) {
      process.stderr.write(`lightpool node: ${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
}

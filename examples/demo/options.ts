import type { StoreSpec } from '@sessionkit/integration/stores'

export interface DemoOptions {
  port: number
  /** Undefined: the embedded default (instances in this process, one shared memory store). */
  store: StoreSpec | undefined
}

const USAGE =
  'usage: pnpm demo [--port 3000] [--store redis://host:port | --store dynamodb://host:port/table | --store postgres://user@host:port/db]'

/**
 * `--port`, `--store redis://…`, `--store dynamodb://host:port/table` (DynamoDB Local or any
 * endpoint) and `--store postgres://…` (a node-postgres connection string; `postgresql://` too).
 */
export function parseOptions(argv: string[]): DemoOptions {
  const options: DemoOptions = { port: 3000, store: undefined }
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s)
    const value = () => inline ?? argv[++i] ?? fail(`${flag} needs a value`)
    if (flag === '--port') options.port = Number(value())
    else if (flag === '--store') options.store = storeSpec(value())
    else if (flag === '--help' || flag === '-h') fail('')
    else if (flag !== '--') fail(`unknown argument ${flag}`)
  }
  if (!Number.isInteger(options.port) || options.port < 0) fail('--port needs a port number')
  return options
}

function storeSpec(url: string): StoreSpec {
  if (/^rediss?:\/\//.test(url)) return { kind: 'redis', url }
  const dynamo = /^dynamodb:\/\/([^/]+)\/(.+)$/.exec(url)
  if (dynamo) return { kind: 'dynamodb', endpoint: `http://${dynamo[1]}`, tableName: dynamo[2]! }
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: 'postgres', url }
  return fail(`--store takes redis://…, dynamodb://host:port/table or postgres://…, not ${url}`)
}

function fail(message: string): never {
  if (message) console.error(message)
  console.error(USAGE)
  process.exit(message ? 2 : 0)
}

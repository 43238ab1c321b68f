/**
 * Tests what users install: packs every public package (built dist required), installs the
 * tarballs into a fresh consumer project in a temp dir, then, in three module setups
 * (`nodenext` ESM, `nodenext` CJS, `bundler`), all strict with `skipLibCheck: false`:
 *   - compiles scripts/consumers/types.ts + run.ts (every package's types, declaration merging)
 *     with negative.ts (lines under `@ts-expect-error`: a type degraded to `any` leaves the
 *     directive unused, an error), and runs run.js with node (one in-process request per
 *     framework, a Set-Cookie each);
 *   - compiles the peers' alias fixtures (packages/{express,koa,fastify}/test/alias/app.ts) with
 *     express-session, koa-session and @fastify/session installed from our tarballs, as
 *     `"express-session": "npm:@sessionkit/express"` installs them;
 *   - compiles the peer-typed samples (scripts/consumers/peer-*.ts: code written against
 *     @types/express-session and @fastify/session's types) twice: through the aliases as
 *     written, and with the peer's name rewritten to ours (a program of their own, as their
 *     declaration merging would clash with types.ts's).
 * In the nodenext CommonJS setup, also compiles (checkJs for the .cjs file) and runs
 * scripts/consumers/require/: `import session = require(...)` and `const session = require(...)`
 * of the bindings whose `require()` returns the middleware (express, koa), as their peers'.
 * Then runs the conformance README's "Write your own store" walkthrough as a newcomer would:
 * scripts/consumers/store-walkthrough/ (a store and its conformance test, outside any workspace)
 * with vitest, against the installed tarballs; every case it does not skip must pass.
 * The workspace's own typecheck reads sources; only this sees the published .d.ts files.
 *
 *   tsx scripts/consumer-check.ts [--keep]    (--keep leaves the temp dir for inspection)
 */
import { execFile } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const fixtures = join(root, 'scripts/consumers')
const keep = process.argv.includes('--keep')
const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc')
// One npm cache across runs (node_modules is ignored by git): installs after the first are offline.
const npmCache = join(root, 'node_modules/.cache/consumer-check-npm')

/** The peers whose npm-alias installs resolve to our bindings. */
const aliases: Record<string, string> = {
  'express-session': '@sessionkit/express',
  'koa-session': '@sessionkit/koa',
  '@fastify/session': '@sessionkit/fastify',
}

/** Frameworks and clients the consumers use, at the versions the workspace tests with. */
const thirdParty: Record<string, string> = {
  express: 'packages/express',
  '@types/express': 'packages/express',
  koa: 'packages/koa',
  '@types/koa': 'packages/koa',
  fastify: 'packages/fastify',
  '@fastify/cookie': 'packages/fastify',
  ioredis: 'packages/redis',
  '@aws-sdk/client-dynamodb': 'packages/dynamodb',
  pg: 'packages/postgres',
  '@types/pg': 'packages/postgres',
  '@types/node': '.',
  vitest: 'packages/conformance',
}

/**
 * Code written against the peers' own types, each compiled in the setups where it compiles
 * against the peer. The fastify sample reads the default import as a namespace
 * (`fastifySession.FastifySessionOptions`), which @fastify/session's `export =` types allow
 * under `nodenext` in an ES module only: elsewhere that import is the plugin alone.
 */
const peerSamples: { file: string; peer: string; ours: string; setups?: string[] }[] = [
  { file: 'peer-express.ts', peer: 'express-session', ours: '@sessionkit/express' },
  {
    file: 'peer-fastify.ts',
    peer: '@fastify/session',
    ours: '@sessionkit/fastify',
    setups: ['nodenext-esm'],
  },
]

interface Setup {
  name: string
  type: 'module' | 'commonjs'
  compilerOptions: Record<string, unknown>
  /** Compile and run scripts/consumers/require/ (CommonJS code: `.cts`, `.cjs`) here. */
  requireFixtures?: boolean
}

const setups: Setup[] = [
  {
    name: 'nodenext-esm',
    type: 'module',
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext' },
  },
  {
    name: 'nodenext-cjs',
    type: 'commonjs',
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext' },
    requireFixtures: true,
  },
  { name: 'bundler', type: 'module', compilerOptions: { module: 'esnext', moduleResolution: 'bundler' } },
]

interface Result {
  code: number
  output: string
}

function run(command: string, args: string[], cwd: string): Promise<Result> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
      resolve({ code, output: `${stdout}${stderr}` })
    })
  })
}

async function must(command: string, args: string[], cwd: string, what: string): Promise<string> {
  const result = await run(command, args, cwd)
  if (result.code !== 0) throw new Error(`${what} failed (exit ${result.code}):\n${result.output}`)
  return result.output
}

function readJson(path: string): Record<string, any> {
  return JSON.parse(readFileSync(path, 'utf8'))
}

function publicPackages(): { name: string; dir: string }[] {
  const dirs = readdirSync(join(root, 'packages'), { withFileTypes: true }).filter((d) => d.isDirectory())
  const found: { name: string; dir: string }[] = []
  for (const d of dirs) {
    const dir = join(root, 'packages', d.name)
    if (!existsSync(join(dir, 'package.json'))) continue
    const manifest = readJson(join(dir, 'package.json'))
    if (manifest.private) continue
    if (!existsSync(join(dir, 'dist')))
      throw new Error(`${manifest.name} has no dist: build first (turbo run build)`)
    found.push({ name: manifest.name, dir })
  }
  return found
}

async function pack(packages: { name: string; dir: string }[], into: string): Promise<Map<string, string>> {
  const tarballs = new Map<string, string>()
  await Promise.all(
    packages.map(async ({ name, dir }) => {
      const out = join(into, name.replace('@', '').replace('/', '-'))
      mkdirSync(out, { recursive: true })
      await must('pnpm', ['pack', '--pack-destination', out], dir, `pnpm pack ${name}`)
      const file = readdirSync(out).find((f) => f.endsWith('.tgz'))
      if (!file) throw new Error(`pnpm pack ${name} wrote no tarball`)
      tarballs.set(name, join(out, file))
    }),
  )
  return tarballs
}

function consumerManifest(tarballs: Map<string, string>): Record<string, unknown> {
  const dependencies: Record<string, string> = {}
  for (const [name, file] of tarballs) dependencies[name] = `file:${file}`
  for (const [peer, ours] of Object.entries(aliases)) {
    const file = tarballs.get(ours)
    if (!file) throw new Error(`${ours} is not a public package`)
    dependencies[peer] = `file:${file}`
  }
  for (const [name, from] of Object.entries(thirdParty)) {
    dependencies[name] = readJson(join(root, from, 'node_modules', name, 'package.json')).version
  }
  // express 5 brings content-disposition 2 (typed) and npm hoists it, so @types/koa, written
  // for 1.x and its @types package, would resolve the 2.x types and fail under skipLibCheck:
  // false. A koa-only app has 1.x at the top; so does this mixed consumer.
  const koa = realpathSync(join(root, 'packages/koa/node_modules/koa/package.json'))
  dependencies['content-disposition'] = readJson(
    createRequire(koa).resolve('content-disposition/package.json'),
  ).version
  return { name: 'sessionkit-consumer', private: true, dependencies }
}

function writeSetup(base: string, setup: Setup): string {
  const dir = join(base, setup.name)
  mkdirSync(join(dir, 'alias'), { recursive: true })
  mkdirSync(join(dir, 'peer'), { recursive: true })
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true, type: setup.type }))
  for (const file of ['types.ts', 'run.ts', 'negative.ts'])
    copyFileSync(join(fixtures, file), join(dir, file))
  for (const binding of ['express', 'koa', 'fastify']) {
    copyFileSync(join(root, 'packages', binding, 'test/alias/app.ts'), join(dir, 'alias', `${binding}.ts`))
  }
  const samples = peerSamples.filter((s) => !s.setups || s.setups.includes(setup.name))
  for (const { file, peer, ours } of samples) {
    const text = readFileSync(join(fixtures, file), 'utf8')
    writeFileSync(join(dir, 'alias', file), text)
    writeFileSync(join(dir, 'peer', file), text.replaceAll(`'${peer}'`, `'${ours}'`))
  }
  const compilerOptions = { target: 'es2022', strict: true, skipLibCheck: false, ...setup.compilerOptions }
  const tsconfig = (files: string[], emit: boolean) =>
    JSON.stringify({
      compilerOptions: { ...compilerOptions, ...(emit ? { outDir: 'out' } : { noEmit: true }) },
      files,
    })
  writeFileSync(join(dir, 'tsconfig.json'), tsconfig(['types.ts', 'run.ts', 'negative.ts'], true))
  // A program of its own: the alias installs are second copies of the bindings, whose global
  // augmentations (Express.Request) would clash with the first ones'.
  writeFileSync(
    join(dir, 'tsconfig.alias.json'),
    tsconfig(
      ['alias/express.ts', 'alias/koa.ts', 'alias/fastify.ts', ...samples.map((s) => `alias/${s.file}`)],
      false,
    ),
  )
  writeFileSync(
    join(dir, 'tsconfig.peer.json'),
    tsconfig(
      samples.map((s) => `peer/${s.file}`),
      false,
    ),
  )
  if (setup.requireFixtures) {
    mkdirSync(join(dir, 'require'))
    for (const file of requireFixtures())
      copyFileSync(join(fixtures, 'require', file), join(dir, 'require', file))
    writeFileSync(
      join(dir, 'tsconfig.require.json'),
      JSON.stringify({
        compilerOptions: {
          ...compilerOptions,
          allowJs: true,
          checkJs: true,
          rootDir: 'require',
          outDir: 'out-require',
        },
        files: requireFixtures().map((f) => `require/${f}`),
      }),
    )
  }
  return dir
}

/** The CommonJS fixtures, each compiled to `out-require/<name>.cjs`. */
function requireFixtures(): string[] {
  return readdirSync(join(fixtures, 'require')).filter((f) => /\.c[jt]s$/.test(f))
}

/** Runs `jobs` two at a time (the machines have two cores). */
async function inPairs<T>(jobs: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(jobs.length)
  let next = 0
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++
      results[i] = await (jobs[i] as () => Promise<T>)()
    }
  }
  await Promise.all([worker(), worker()])
  return results
}

async function main(): Promise<void> {
  const started = Date.now()
  const step = (what: string) =>
    console.log(`consumer-check ${((Date.now() - started) / 1000).toFixed(1)}s ${what}`)
  const temp = mkdtempSync(join(tmpdir(), 'sessionkit-consumers-'))
  try {
    const packages = publicPackages()
    const tarballs = await pack(packages, join(temp, 'tarballs'))
    step(`packed ${[...tarballs.keys()].join(', ')}`)

    const consumer = join(temp, 'consumer')
    mkdirSync(consumer)
    writeFileSync(join(consumer, 'package.json'), JSON.stringify(consumerManifest(tarballs), null, 2))
    const npmArgs = ['install', '--cache', npmCache, '--prefer-offline', '--no-audit', '--no-fund']
    await must('npm', [...npmArgs, '--ignore-scripts', '--loglevel=error'], consumer, 'npm install')
    step('installed the tarballs, the peer aliases and the frameworks')

    const dirs = setups.map((setup) => writeSetup(consumer, setup))
    const problems: string[] = []
    const jobs = setups.flatMap((setup, i) => {
      const dir = dirs[i] as string
      return [
        async () => {
          const built = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], dir)
          if (built.code !== 0)
            return void problems.push(
              `${setup.name}: types.ts, run.ts, negative.ts do not compile:\n${built.output}`,
            )
          const ran = await run(process.execPath, ['out/run.js'], dir)
          if (ran.code !== 0) problems.push(`${setup.name}: run.js failed:\n${ran.output}`)
        },
        async () => {
          const alias = await run(process.execPath, [tsc, '-p', 'tsconfig.alias.json'], dir)
          if (alias.code !== 0)
            problems.push(`${setup.name}: the peer alias fixtures do not compile:\n${alias.output}`)
        },
        async () => {
          const peer = await run(process.execPath, [tsc, '-p', 'tsconfig.peer.json'], dir)
          if (peer.code !== 0)
            problems.push(
              `${setup.name}: the peer-typed samples do not compile under our names:\n${peer.output}`,
            )
        },
      ]
    })
    for (const [i, setup] of setups.entries()) {
      if (!setup.requireFixtures) continue
      const dir = dirs[i] as string
      jobs.push(async () => {
        const built = await run(process.execPath, [tsc, '-p', 'tsconfig.require.json'], dir)
        if (built.code !== 0)
          return void problems.push(`${setup.name}: the require() fixtures do not compile:\n${built.output}`)
        for (const file of requireFixtures()) {
          const emitted = join('out-require', file.replace(/\.cts$/, '.cjs'))
          const ran = await run(process.execPath, [emitted], dir)
          if (ran.code !== 0) problems.push(`${setup.name}: ${emitted} failed:\n${ran.output}`)
        }
      })
    }
    jobs.push(async () => {
      const walkthrough = join(consumer, 'store-walkthrough')
      mkdirSync(walkthrough)
      writeFileSync(join(walkthrough, 'package.json'), JSON.stringify({ private: true, type: 'module' }))
      for (const file of readdirSync(join(fixtures, 'store-walkthrough')))
        copyFileSync(join(fixtures, 'store-walkthrough', file), join(walkthrough, file))
      const vitest = join(consumer, 'node_modules/vitest/vitest.mjs')
      const ran = await run(process.execPath, [vitest, 'run'], walkthrough)
      if (ran.code !== 0) problems.push(`the conformance walkthrough's store fails the suite:\n${ran.output}`)
    })
    await inPairs(jobs)
    step(`compiled and ran ${setups.map((s) => s.name).join(', ')}, and the store walkthrough`)
    if (problems.length > 0) {
      console.error(`consumer-check FAILED (${keep ? `kept ${temp}` : 'rerun with --keep to inspect'}):`)
      for (const p of problems) console.error(`- ${p}`)
      process.exitCode = 1
    }
  } finally {
    if (keep) console.log(`consumer-check: kept ${temp}`)
    else rmSync(temp, { recursive: true, force: true })
  }
}

await main()

/**
 * Every README and JSDoc example is a test: extracts the fenced ts/js blocks of the root README,
 * of every public package's README and the `@example` blocks of the public entry files
 * (packages/<pkg>/src/index.ts), writes each block as its own module into a temp consumer
 * project, and type-checks them all in one tsc program: strict, `module: nodenext`, an ES
 * module package (a block that calls `require(` is written as CommonJS). `@sessionkit/*`
 * resolve to the workspace packages' built dist (build first), the frameworks and clients to
 * the versions the workspace tests with. Each block must compile as written: its imports, its
 * declaration merging, its non-null env vars.
 *
 * Skipped, and counted: ```diff blocks, and blocks marked as fragments on purpose in the fence
 * info (```ts fragment). Other languages (sh, json, yaml, ...) are not code to compile.
 *
 *   tsx scripts/readme-examples.ts [--keep]    (--keep leaves the temp dir for inspection)
 */
import { execFile } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const keep = process.argv.includes('--keep')
const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc')

/** Third-party packages the examples import, taken from the package that tests with them. */
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
  vitest: 'packages/conformance',
  '@types/node': '.',
}

const checked = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs', 'cjs'])

interface Block {
  source: string // repo-relative file
  line: number // 1-based line of the opening fence
  lang: string
  code: string
}

interface Extracted {
  blocks: Block[]
  fragments: number
  diffs: number
}

/** CommonMark fences (``` or ~~~, closed by the same character at least as long), indentation stripped. */
function fences(
  text: string,
  source: string,
  lineOffset = 0,
): { lang: string; info: string[]; code: string; line: number; source: string }[] {
  const lines = text.split('\n')
  const found: { lang: string; info: string[]; code: string; line: number; source: string }[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^`]*)$/.exec(lines[i] as string)
    if (!open) continue
    const [, indent = '', fence = '', infoText = ''] = open
    const body: string[] = []
    let j = i + 1
    for (; j < lines.length; j++) {
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(lines[j] as string)
      if (close && close[1]?.[0] === fence[0] && (close[1]?.length ?? 0) >= fence.length) break
      const l = lines[j] as string
      body.push(l.startsWith(indent) ? l.slice(indent.length) : l.trimStart())
    }
    const info = infoText.trim().split(/\s+/).filter(Boolean)
    found.push({
      lang: (info[0] ?? '').toLowerCase(),
      info: info.slice(1),
      code: body.join('\n'),
      line: lineOffset + i + 1,
      source,
    })
    i = j
  }
  return found
}

/** The `@example` blocks of a source file's doc comments, as fenced text with their lines. */
function jsdocExamples(file: string, source: string): ReturnType<typeof fences> {
  const text = readFileSync(file, 'utf8')
  const found: ReturnType<typeof fences> = []
  const re = /\/\*\*[\s\S]*?\*\//g
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const comment = m[0]
    const at = comment.indexOf('@example')
    if (at < 0) continue
    const startLine = text.slice(0, m.index + at).split('\n').length - 1
    // The example runs to the next tag or the end of the comment.
    const rest = comment.slice(at).split('\n').slice(1)
    const body: string[] = []
    for (const raw of rest) {
      const l = raw.replace(/^\s*\*\/?\s?/, '').replace(/\*\/\s*$/, '')
      if (/^@\w/.test(l.trim())) break
      body.push(l)
    }
    found.push(...fences(body.join('\n'), source, startLine + 1))
  }
  return found
}

function extract(): Extracted {
  const sources: { file: string; readme: boolean }[] = [{ file: join(root, 'README.md'), readme: true }]
  for (const d of readdirSync(join(root, 'packages'), { withFileTypes: true })) {
    const dir = join(root, 'packages', d.name)
    if (!d.isDirectory() || !existsSync(join(dir, 'package.json'))) continue
    if (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).private) continue
    if (!existsSync(join(dir, 'dist')))
      throw new Error(`packages/${d.name} has no dist: build first (turbo run build)`)
    if (existsSync(join(dir, 'README.md'))) sources.push({ file: join(dir, 'README.md'), readme: true })
    if (existsSync(join(dir, 'src/index.ts')))
      sources.push({ file: join(dir, 'src/index.ts'), readme: false })
  }
  const result: Extracted = { blocks: [], fragments: 0, diffs: 0 }
  for (const { file, readme } of sources) {
    const source = relative(root, file)
    const found = readme ? fences(readFileSync(file, 'utf8'), source) : jsdocExamples(file, source)
    for (const f of found) {
      if (f.lang === 'diff') result.diffs++
      else if (!checked.has(f.lang)) continue
      else if (f.info.includes('fragment')) result.fragments++
      else result.blocks.push({ source: f.source, line: f.line, lang: f.lang, code: f.code })
    }
  }
  return result
}

function fileName(block: Block): string {
  const base = `${block.source.replace(/[/.]/g, '_')}_L${block.line}`
  const js = !block.lang.startsWith('t')
  const cjs = block.lang === 'cjs' || /\brequire\(/.test(block.code)
  return `${base}.${cjs ? (js ? 'cjs' : 'cts') : js ? 'mjs' : 'mts'}`
}

function link(target: string, path: string): void {
  mkdirSync(dirname(path), { recursive: true })
  symlinkSync(target, path, 'dir')
}

function consumer(dir: string, blocks: Block[]): { byFile: Map<string, Block>; configs: string[] } {
  const modules = join(dir, 'node_modules')
  for (const d of readdirSync(join(root, 'packages'), { withFileTypes: true })) {
    const pkg = join(root, 'packages', d.name)
    if (!d.isDirectory() || !existsSync(join(pkg, 'package.json'))) continue
    link(pkg, join(modules, JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).name))
  }
  for (const [name, from] of Object.entries(thirdParty))
    link(realpathSync(join(root, from, 'node_modules', name)), join(modules, name))
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true, type: 'module' }))
  const byFile = new Map<string, Block>()
  for (const block of blocks) {
    const name = fileName(block)
    byFile.set(name, block)
    writeFileSync(join(dir, name), `${block.code}\n`)
  }
  // Two programs: a package's ESM and CJS declarations each augment Express's Request, and in
  // one program the first loaded would win over the other's declaration merging.
  const files = [...byFile.keys()]
  const programs = [
    { config: 'tsconfig.json', files: files.filter((f) => !/\.c[jt]s$/.test(f)) },
    { config: 'tsconfig.cjs.json', files: files.filter((f) => /\.c[jt]s$/.test(f)) },
  ].filter((p) => p.files.length > 0)
  for (const program of programs) {
    writeFileSync(
      join(dir, program.config),
      JSON.stringify({
        compilerOptions: {
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          moduleDetection: 'force', // each block is a module of its own
          strict: true,
          allowJs: true,
          checkJs: true,
          noEmit: true,
          // The published .d.ts files are checked by scripts/consumer-check.ts; here the examples.
          skipLibCheck: true,
          types: ['node'],
        },
        files: program.files,
      }),
    )
  }
  return { byFile, configs: programs.map((p) => p.config) }
}

function run(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: `${stdout}${stderr}` })
    })
  })
}

async function main(): Promise<void> {
  const started = Date.now()
  const { blocks, fragments, diffs } = extract()
  const dir = mkdtempSync(join(tmpdir(), 'sessionkit-readme-examples-'))
  try {
    const { byFile, configs } = consumer(dir, blocks)
    const result = { code: 0, output: '' }
    for (const config of configs) {
      const one = await run([tsc, '-p', config, '--pretty', 'false'], dir)
      result.code ||= one.code
      result.output += one.output
    }
    // Errors name the temp file: point them back at the README line they came from.
    const failing = new Set<string>()
    const output = result.output.replace(
      /^(\S+?)\((\d+),(\d+)\)/gm,
      (whole, file: string, l: string, c: string) => {
        const block = byFile.get(file)
        if (!block) return whole
        failing.add(file)
        return `${block.source}:${block.line + Number(l)}:${c}`
      },
    )
    const seconds = ((Date.now() - started) / 1000).toFixed(1)
    console.log(
      `readme-examples ${seconds}s: ${blocks.length} blocks type-checked, ${fragments} fragments and ${diffs} diff blocks skipped`,
    )
    if (result.code !== 0) {
      console.error(
        `readme-examples FAILED: ${failing.size} of ${blocks.length} blocks do not compile${keep ? ` (kept ${dir})` : ''}:`,
      )
      console.error(output)
      process.exitCode = 1
    }
  } finally {
    if (keep) console.log(`readme-examples: kept ${dir}`)
    else rmSync(dir, { recursive: true, force: true })
  }
}

await main()

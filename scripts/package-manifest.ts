/**
 * Generates what every public package's manifest must repeat from one source: the `exports`
 * map (with the `@sessionkit/source` condition for workspace tests and typechecks),
 * `publishConfig.exports` (the same map without it), `main`/`module`/`types`, and the LICENSE
 * file. The entry points come from each package's `tsup.config.ts`, i.e. from the one shared
 * build config (`tsup.shared.ts`), so a new entry is declared once.
 *
 *   pnpm manifests          rewrite package.json files and LICENSE copies
 *   pnpm manifests --check  fail (exit 1) when any is out of date (run by `pnpm lint`)
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, extname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const check = process.argv.includes('--check')
const license = readFileSync(join(root, 'LICENSE'), 'utf8')

type Conditions = Record<string, unknown>

function entryFiles(config: { entry?: string[] | Record<string, string> }): string[] {
  const entry = config.entry ?? ['src/index.ts']
  return Array.isArray(entry) ? entry : Object.values(entry)
}

function exportsFor(files: string[], withSource: boolean): Record<string, unknown> {
  const map: Record<string, unknown> = {}
  for (const file of files) {
    const name = basename(file, extname(file))
    const conditions: Conditions = {}
    if (withSource) conditions['@sessionkit/source'] = `./${file}`
    // `types` first inside each condition: TypeScript and attw read the first match.
    conditions.import = { types: `./dist/${name}.d.ts`, default: `./dist/${name}.js` }
    conditions.require = { types: `./dist/${name}.d.cts`, default: `./dist/${name}.cjs` }
    map[name === 'index' ? '.' : `./${name}`] = conditions
  }
  map['./package.json'] = './package.json'
  return map
}

const stale: string[] = []
for (const dir of readdirSync(join(root, 'packages'))) {
  const pkgDir = join(root, 'packages', dir)
  const manifestPath = join(pkgDir, 'package.json')
  if (!existsSync(manifestPath) || !existsSync(join(pkgDir, 'tsup.config.ts'))) continue
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'))
  if (manifest.private) continue
  const config = (await import(pathToFileURL(join(pkgDir, 'tsup.config.ts')).href)).default
  const files = entryFiles(config)
  manifest.main = './dist/index.cjs'
  manifest.module = './dist/index.js'
  manifest.types = './dist/index.d.cts'
  manifest.exports = exportsFor(files, true)
  manifest.publishConfig = { ...manifest.publishConfig, exports: exportsFor(files, false) }
  const text = `${JSON.stringify(manifest, null, 2)}\n`
  if (text !== readFileSync(manifestPath, 'utf8')) {
    stale.push(`packages/${dir}/package.json`)
    if (!check) writeFileSync(manifestPath, text)
  }
  const licensePath = join(pkgDir, 'LICENSE')
  if (!existsSync(licensePath) || readFileSync(licensePath, 'utf8') !== license) {
    stale.push(`packages/${dir}/LICENSE`)
    if (!check) writeFileSync(licensePath, license)
  }
}

if (check && stale.length > 0) {
  console.error(`out of date (run \`pnpm manifests\`):\n  ${stale.join('\n  ')}`)
  process.exit(1)
}
if (!check) console.log(stale.length ? `updated:\n  ${stale.join('\n  ')}` : 'all manifests up to date')

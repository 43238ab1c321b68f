/**
 * `node --import tsx src/tools/profile-summary.ts <file.cpuprofile> [top]`: self time by
 * function and by package, to see the session layer's share of a `pnpm bench --profile` run.
 */
import { readFileSync } from 'node:fs'

interface Node {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: Node[]
  samples: number[]
  timeDeltas: number[]
}

const [file, topText] = process.argv.slice(2)
if (!file) throw new Error('usage: profile-summary <file.cpuprofile> [top]')
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const self = new Map<number, number>()
for (const [i, id] of profile.samples.entries())
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
const total = [...self.values()].reduce((a, b) => a + b, 0)

const area = (url: string) => {
  const pkg = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1]
  if (pkg) return pkg
  const ours = /\/packages\/([^/]+)\//.exec(url)?.[1]
  if (ours) return `@sessionkit/${ours}`
  if (url.startsWith('node:')) return url
  return url ? 'other' : '(native/gc/idle)'
}
const add = (map: Map<string, number>, key: string, value: number) =>
  map.set(key, (map.get(key) ?? 0) + value)
const byFunction = new Map<string, number>()
const byArea = new Map<string, number>()
for (const [id, micros] of self) {
  const frame = byId.get(id)!.callFrame
  add(
    byFunction,
    `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`,
    micros,
  )
  add(byArea, area(frame.url) + (frame.url ? '' : ` ${frame.functionName}`), micros)
}
const print = (title: string, map: Map<string, number>, top: number) => {
  console.log(`\n${title}`)
  for (const [key, micros] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * micros) / total).toFixed(1).padStart(5)}%  ${key}`)
  }
}
print('self time by area', byArea, 25)
print('self time by function', byFunction, Number(topText ?? 40))

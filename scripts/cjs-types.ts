/**
 * Rewrites a binding's CommonJS declarations (dist/index.d.cts) to say what its runtime does.
 * With `requireReturnsDefault` (tsup.shared.ts), `require()` returns the default export, the
 * middleware function, with every named export (and `default`) on it, as `require()` of
 * express-session or koa-session does. tsup emits ES-module declarations (`export { ..., x as
 * default }`), which type `require()` as an object that is not callable. This turns them into
 * `export = x` with `declare namespace x { export { ... } }` re-exporting every named export
 * and `default`, as @types/express-session and @fastify/session are shaped. An export
 * specifier carries every meaning of its name (a class's value and type, a const and its
 * same-named type alias, an interface that apps augment with `declare module`), and, unlike
 * `type Name = Name` written inside the namespace, never refers to the namespace's own member.
 * Members of a same-named namespace the source declares stay, unless re-exported here.
 *
 *   tsx scripts/cjs-types.ts dist/index.d.cts    (run by the package's build script after tsup)
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

interface Edit {
  start: number
  end: number
  text: string
}

function declaredName(statement: ts.Statement): string | undefined {
  if (ts.isVariableStatement(statement)) {
    const [first] = statement.declarationList.declarations
    return first && ts.isIdentifier(first.name) ? first.name.text : undefined
  }
  const name = (statement as { name?: ts.Node }).name
  return name && (ts.isIdentifier(name) || ts.isStringLiteral(name)) ? name.text : undefined
}

/** The `.d.cts` text with `export =` of the default export; throws on shapes it cannot keep exact. */
export function exportEquals(text: string, fileName = 'index.d.cts'): string {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)
  const last = file.statements.at(-1)
  if (!last || !ts.isExportDeclaration(last) || last.moduleSpecifier || !last.exportClause)
    throw new Error(`${fileName}: expected a final \`export { ... }\` list`)
  if (!ts.isNamedExports(last.exportClause)) throw new Error(`${fileName}: expected named exports`)
  const specifiers = last.exportClause.elements.map((s) => ({
    local: (s.propertyName ?? s.name).text,
    name: s.name.text,
  }))
  const main = specifiers.find((s) => s.name === 'default')?.local
  if (!main) throw new Error(`${fileName}: no default export to make \`export =\``)

  if (!file.statements.some((s) => ts.isFunctionDeclaration(s) && s.name?.text === main))
    throw new Error(`${fileName}: the default export ${main} is not a declared function`)

  const edits: Edit[] = []
  const generated = new Set(specifiers.map((s) => s.name))
  const members = specifiers.map(({ local, name }) => (local === name ? local : `${local} as ${name}`))

  // A namespace the source declared for the ES-module default export: keep what it adds.
  for (const statement of file.statements) {
    if (!ts.isModuleDeclaration(statement) || declaredName(statement) !== main || !statement.body) continue
    if (!ts.isModuleBlock(statement.body)) continue
    for (const member of statement.body.statements) {
      const name = declaredName(member)
      if (name !== undefined && generated.has(name))
        edits.push({ start: member.getFullStart(), end: member.getEnd(), text: '' })
    }
  }

  edits.push({
    start: last.getFullStart(),
    end: last.getEnd(),
    text: `\ndeclare namespace ${main} {\n    export { ${members.join(', ')} };\n}\n\nexport = ${main};`,
  })
  edits.sort((a, b) => b.start - a.start)
  let out = text
  for (const edit of edits) out = out.slice(0, edit.start) + edit.text + out.slice(edit.end)
  return out
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const path of process.argv.slice(2))
    writeFileSync(path, exportEquals(readFileSync(path, 'utf8'), path))
}

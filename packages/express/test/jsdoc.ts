import { readFileSync } from 'node:fs'
import ts from 'typescript'
/**
 * The members of `declaration` (a class or interface in `file`) without a JSDoc comment: what
 * an editor shows nothing for on hover. Of an overloaded method one documented signature is enough.
 */
export function undocumentedMembers(file: string, declaration: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
  const documented = new Map<string, boolean>()
  const visit = (node: ts.Node): void => {
    if ((ts.isClassDeclaration(node) || ts.isInterfaceDeclaration(node)) && node.name?.text === declaration) {
      for (const member of node.members as ts.NodeArray<ts.ClassElement | ts.TypeElement>) {
        const name = member.name && ts.isIdentifier(member.name) ? member.name.text : undefined
        if (!name || ts.isConstructorDeclaration(member)) continue
        if (name.startsWith('_')) continue
        const modifiers = ts.canHaveModifiers(member) ? ts.getModifiers(member) : undefined
        if (modifiers?.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword)) continue
        const hasDoc = ts.getJSDocCommentsAndTags(member).length > 0
        documented.set(name, (documented.get(name) ?? false) || hasDoc)
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  if (documented.size === 0) throw new Error(`${declaration} not found in ${file}`)
  return [...documented].filter(([, doc]) => !doc).map(([name]) => name)
}

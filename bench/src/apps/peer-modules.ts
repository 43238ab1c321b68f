/**
 * The peers, imported by a name the type checker does not follow: @fastify/session augments
 * FastifyRequest exactly as @sessionkit/fastify does (it is a drop-in), and two augmentations
 * of one property in one program do not type-check. express-session ships no types.
 */
export async function importPeer(name: '@fastify/session' | 'express-session'): Promise<any> {
  const specifier: string = name
  const mod = await import(specifier)
  return mod.default ?? mod
}

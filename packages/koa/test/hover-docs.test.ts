import { describe, expect, it } from 'vitest'
import { undocumentedMembers } from '../../express/test/jsdoc'

describe('hover docs on what users touch', () => {
  it('every option and every member of ctx.session has JSDoc', () => {
    expect(
      undocumentedMembers(new URL('../src/options.ts', import.meta.url).pathname, 'SessionOptions'),
    ).toEqual([])
    expect(undocumentedMembers(new URL('../src/session.ts', import.meta.url).pathname, 'Session')).toEqual([])
    expect(
      undocumentedMembers(new URL('../src/index.ts', import.meta.url).pathname, 'SessionMiddleware'),
    ).toEqual([])
  })
})

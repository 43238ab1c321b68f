import { describe, expect, it } from 'vitest'
import { undocumentedMembers } from '../../express/test/jsdoc'

describe('hover docs on what users touch', () => {
  it('every member of request.session (FastifySessionObject and its class) has JSDoc', () => {
    expect(
      undocumentedMembers(new URL('../src/types.ts', import.meta.url).pathname, 'FastifySessionObject'),
    ).toEqual([])
    expect(
      undocumentedMembers(new URL('../src/types.ts', import.meta.url).pathname, 'ExpressSessionData'),
    ).toEqual([])
    expect(
      undocumentedMembers(new URL('../src/session.ts', import.meta.url).pathname, 'FastifySession'),
    ).toEqual([])
  })

  it("SessionError.code (core's) has JSDoc", () => {
    expect(
      undocumentedMembers(new URL('../../core/src/errors.ts', import.meta.url).pathname, 'SessionError'),
    ).toEqual([])
  })
})

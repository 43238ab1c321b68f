import { describe, expect, it } from 'vitest'
import { undocumentedMembers } from './jsdoc'

describe('hover docs on what users touch', () => {
  it('every member of req.session (Session) has JSDoc', () => {
    expect(undocumentedMembers(new URL('../src/session.ts', import.meta.url).pathname, 'Session')).toEqual([])
  })

  it('every option has JSDoc', () => {
    expect(
      undocumentedMembers(new URL('../src/options.ts', import.meta.url).pathname, 'SessionOptions'),
    ).toEqual([])
  })
})

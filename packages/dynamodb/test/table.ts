/** The session table test/global-setup.ts creates on the shared DynamoDB Local. */
export const TABLE = 'sessions'

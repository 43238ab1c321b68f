// Changelog lines that link to the commit that added each changeset, so a release note can be
// traced to its code. Changesets passes `changeset.commit` when it runs inside the git repo.
const { repository } = require('../package.json')

const base = 'https://github.com/sessionkit/sessionkit'
const repoUrl = (typeof repository === 'string' ? repository : repository?.url)
  ?.replace(/^git\+/, '')
  .replace(/\.git$/, '')

function commitLink(commit) {
  if (!commit) return ''
  return `[\`${commit.slice(0, 7)}\`](${repoUrl || base}/commit/${commit}) `
}

async function getReleaseLine(changeset) {
  const [first, ...rest] = changeset.summary.trim().split('\n')
  const tail = rest.map((line) => `  ${line}`.trimEnd()).join('\n')
  return `\n- ${commitLink(changeset.commit)}${first}${tail ? `\n${tail}` : ''}`
}

async function getDependencyReleaseLine(changesets, dependenciesUpdated) {
  if (dependenciesUpdated.length === 0) return ''
  const commits = changesets.map((c) => commitLink(c.commit).trim()).filter(Boolean)
  const header = `- Updated dependencies${commits.length ? ` ${commits.join(', ')}` : ''}`
  const lines = dependenciesUpdated.map((d) => `  - ${d.name}@${d.newVersion}`)
  return [header, ...lines].join('\n')
}

module.exports = {
  default: { getReleaseLine, getDependencyReleaseLine },
  getReleaseLine,
  getDependencyReleaseLine,
}

#!/bin/sh
# The whole suite: lint and typecheck, every package's tests (one package at a time: several
# start redis-server topologies and time failovers), then build, publint and attw, then the
# README examples, then the packed packages as users install them (scripts/consumer-check.ts: needs the built dist).
set -e
# pnpm 10 hands the scripts it runs verify-deps-before-run="false", a string it then reads as
# true: every `pnpm run` turbo starts re-checks the lockfile and may rewrite
# node_modules/.pnpm-workspace-state-v1.json while its parallel siblings read it. `pnpm install`
# already ran; an empty value turns the check off.
export pnpm_config_verify_deps_before_run= npm_config_verify_deps_before_run=
turbo run lint typecheck
turbo run test --concurrency=1 --continue
turbo run build publint attw
# Every README and entry-file @example block type-checks as written (needs the built dist).
tsx scripts/readme-examples.ts
# What users install: packed tarballs in fresh strict projects; the CommonJS .d.cts rewrite's own test.
tsx scripts/consumer-check.ts
vitest run scripts/cjs-types.test.ts

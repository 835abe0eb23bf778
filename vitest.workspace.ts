/** The test projects; the root vitest.config.ts reads this list (vitest 4 ignores this file on its own). */
export default ['packages/*', 'apps/*'];

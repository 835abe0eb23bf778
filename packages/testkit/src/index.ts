export { rebuildIfStale } from './build-dist.js';
export { ENCODINGS, type Encoding, readBack, upper } from './escapes.js';
export { findLeaks } from './leaks.js';
export { echoAllForms, type SeenRequest, startUpstream, type Upstream } from './upstream.js';

export { rebuildIfStale } from './build-dist.js';
export { ENCODINGS, type Encoding, readBack, upper } from './escapes.js';
export { findLeaks } from './leaks.js';
export { type Exchange, type Mitm, type MitmAction, type MitmRequest, startMitm } from './mitm.js';
export { type ReadmeExample, readmeExample, runReadmeExample } from './readme.js';
export { makeBareRepo, startTlsUpstream, type TlsUpstream } from './tls-upstream.js';
export { echoAllForms, type SeenRequest, startUpstream, type Upstream } from './upstream.js';

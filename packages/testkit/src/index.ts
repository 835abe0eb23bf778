export { rebuildIfStale } from './build-dist.js';
export { type EncodedForm, findLeaks, leakForms } from './leaks.js';
export { echoAllForms, type SeenRequest, startUpstream, type Upstream } from './upstream.js';

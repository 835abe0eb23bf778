export { rebuildIfStale } from './build-dist.js';
export { type EncodedForm, findLeaks, leakForms } from './leaks.js';
export { type Exchange, type Mitm, type MitmAction, type MitmRequest, startMitm } from './mitm.js';
export { echoAllForms, type SeenRequest, startUpstream, type Upstream } from './upstream.js';

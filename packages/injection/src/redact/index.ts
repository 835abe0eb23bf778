export { isBarrier, MIN_REDACTABLE_LENGTH, REDACTION_MARKER, redactionPatterns } from './forms.js';
export {
  DEFAULT_RELEASE,
  type RedactableSecret,
  type RedactingStream,
  Redactor,
  type ReleaseRule,
} from './redactor.js';

export { encodedForms, MIN_REDACTABLE_LENGTH, REDACTION_MARKER } from './forms.js';
export { type RedactableSecret, type RedactingStream, Redactor } from './redactor.js';

// The contract's password rules, checked on the page as the person types. The API enforces the
// same rules; whatever it still refuses is shown beside the field in its own words.

import { $, fieldError } from './ui.js';

export const MIN_CHARS = 12;
export const MAX_CHARS = 128;

let common = null;

/** The same list of common passwords that the server refuses, served beside the page. */
async function commonPasswords() {
  if (!common) {
    common = fetch('common-passwords.txt', { credentials: 'omit' })
      .then((response) => (response.ok ? response.text() : ''))
      .then((text) => new Set(text.split('\n').map((line) => line.trim()).filter(Boolean)))
      // Without the list the API still refuses common passwords, and says so.
      .catch(() => new Set());
  }
  return common;
}

/** Each rule's verdict on `password` for an account with `email` (empty for none). */
export async function verdicts(password, email) {
  const list = await commonPasswords();
  const chars = [...password].length;
  const lowered = password.toLowerCase();
  return {
    length: chars >= MIN_CHARS && chars <= MAX_CHARS,
    common: password !== '' && !list.has(lowered),
    email: password !== '' && !(email && lowered.includes(email.toLowerCase())),
  };
}

const MESSAGES = {
  length: `Use ${MIN_CHARS} to ${MAX_CHARS} characters.`,
  common: 'This is a commonly used password: choose another.',
  email: 'The password must not contain the email address.',
};

/**
 * Ties a password field, its confirmation and its list of rules together: the list shows
 * which rules hold as the person types, and `check()` says what is still wrong on submit.
 */
export function passwordRules(form, email) {
  const input = $('[data-role="new-password"]', form);
  const confirm = $('[data-role="confirm-password"]', form);
  const items = $('.rules', form);

  async function update() {
    const verdict = await verdicts(input.value, email());
    for (const [rule, ok] of Object.entries(verdict)) {
      const item = items.querySelector(`[data-rule="${rule}"]`);
      item.classList.toggle('ok', ok && input.value !== '');
      item.querySelector('.state').textContent = input.value === '' ? '' : ok ? '(met)' : '(not met)';
    }
    return verdict;
  }
  input.addEventListener('input', update);
  update();

  return {
    /** Shows the first broken rule beside its field; true when all hold. */
    async check() {
      const verdict = await update();
      const broken = Object.keys(MESSAGES).find((rule) => !verdict[rule]);
      if (broken) {
        fieldError(input, MESSAGES[broken]);
        return false;
      }
      if (confirm.value !== input.value) {
        fieldError(confirm, 'The two passwords differ: type the same password twice.');
        return false;
      }
      return true;
    },
    reset() {
      input.value = '';
      confirm.value = '';
      update();
    },
  };
}

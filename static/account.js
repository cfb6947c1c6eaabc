// "Your account": Sid and AuthToken, the friendly name, the password.

import { $, busy, clearErrors, fieldError, notify, wireCopy, announce } from './ui.js';
import { passwordRules } from './password.js';

const STATUS_WORDS = {
  active: 'Active',
  suspended: 'Suspended',
  closed: 'Closed',
  uninitialized: 'Must choose a new password',
};

export function statusWords(status) {
  return STATUS_WORDS[status] ?? status;
}

export function renderAccount(me) {
  $('#account-name').textContent = me.friendly_name;
  $('#account-email').textContent = me.email_address ?? 'None: this account uses the API only';
  $('#account-role').textContent = me.role;
  $('#account-status').textContent = statusWords(me.status);
  $('#account-sid').value = me.sid;
  $('#account-token').value = me.auth_token;
  $('#rename-self').value = me.friendly_name;
  // An API-only account has no password to change.
  $('#password-form').hidden = me.email_address === null;
}

export function initAccount(session, onRenamed) {
  const token = $('#account-token');
  const reveal = $('#account-token-reveal');
  reveal.addEventListener('click', () => {
    const shown = token.type === 'password';
    token.type = shown ? 'text' : 'password';
    reveal.textContent = shown ? 'Hide' : 'Show';
    reveal.setAttribute('aria-pressed', String(shown));
  });
  wireCopy($('#account-sid-copy'), 'Account SID', () => session.me.sid);
  wireCopy($('#account-token-copy'), 'AuthToken', () => session.me.auth_token);

  $('#rename-self-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    clearErrors(form);
    const input = $('#rename-self');
    const name = input.value.trim();
    if (!name) return fieldError(input, 'Type a name of 1 to 64 characters.');
    const updated = await busy(form.querySelector('button'), form,
      () => session.client.update(session.me.sid, { FriendlyName: name }));
    if (updated) {
      session.me = updated;
      renderAccount(updated);
      onRenamed();
      announce('Name saved');
    }
    return undefined;
  });

  const rules = passwordRules($('#password-form'), () => session.me?.email_address ?? '');
  $('#password-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const updated = await changeOwnPassword(session, form, rules, $('#new-password'),
      form.querySelector('button'));
    if (!updated) return;
    renderAccount(updated);
    notify('Your password has changed, and so has your AuthToken. Programs that used the old token need this one:',
      [{ label: 'New AuthToken', value: updated.auth_token }]);
  });
}

/**
 * Sets the signed-in account's password from `input`, once the page's own checks pass. The old
 * password and token stop working, so the session goes on with the new password. Resolves to
 * the updated account, or to undefined when the page or the API refused (the reason is shown).
 */
export async function changeOwnPassword(session, form, rules, input, button) {
  clearErrors(form);
  if (!(await rules.check())) return undefined;
  const password = input.value;
  const updated = await busy(button, form,
    () => session.client.update(session.me.sid, { Password: password }));
  if (!updated) return undefined;
  session.client.useSecret(password);
  session.me = updated;
  rules.reset();
  return updated;
}

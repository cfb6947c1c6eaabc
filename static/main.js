// The console's entry point: sign-in, the first password, then the console itself.

import { Client, onBusyChange } from './api.js';
import { $, busy, clearErrors, fieldError, notify } from './ui.js';
import { passwordRules } from './password.js';
import { changeOwnPassword, initAccount, renderAccount } from './account.js';
import { startSubAccounts } from './subaccounts.js';
import { startActivity } from './activity.js';

/** Who is signed in: the API client (holding the credentials) and the account as last seen. */
const session = { client: null, me: null };

onBusyChange((waiting) => {
  $('#progress').hidden = !waiting;
  document.body.classList.toggle('waiting', waiting);
});

function show(view) {
  for (const id of ['sign-in-view', 'first-password-view', 'console-view']) {
    $(`#${id}`).hidden = id !== view;
  }
}

function showWho() {
  $('#who').hidden = false;
  $('#who-name').textContent = session.me.friendly_name;
  $('#who-role').textContent = session.me.role;
}

async function signIn(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const userInput = $('#sign-in-user');
  const secretInput = $('#sign-in-secret');
  const user = userInput.value.trim();
  if (!user) return fieldError(userInput, 'Type your email address or Account SID.');
  if (!secretInput.value) return fieldError(secretInput, 'Type your password or AuthToken.');
  const client = new Client(user, secretInput.value);
  const me = await busy(form.querySelector('button[type="submit"]'), form, () => client.account(user));
  if (!me) return undefined;
  secretInput.value = '';
  session.client = client;
  session.me = me;
  showWho();
  if (me.status === 'uninitialized') {
    show('first-password-view');
    $('#first-password-who').textContent = me.email_address ?? me.sid;
    $('#first-password').focus();
  } else {
    enterConsole();
  }
  return undefined;
}

const firstRules = passwordRules($('#first-password-form'), () => session.me?.email_address ?? '');

async function setFirstPassword(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const updated = await changeOwnPassword(session, form, firstRules, $('#first-password'),
    form.querySelector('button[type="submit"]'));
  if (!updated) return;
  enterConsole();
  notify('Your password is set and your account is active. Your AuthToken changed with it:',
    [{ label: 'AuthToken', value: updated.auth_token }]);
}

function enterConsole() {
  show('console-view');
  showWho();
  renderAccount(session.me);
  if (session.me.role === 'Administrator') {
    startSubAccounts(session);
  } else {
    // Nothing to hide behind a flag: the controls leave the page.
    $('#accounts-view').remove();
  }
  startActivity(session);
  $('#account-title').focus();
}

initAccount(session, showWho);
$('#sign-in-form').addEventListener('submit', signIn);
$('#first-password-form').addEventListener('submit', setFirstPassword);
// Signing out forgets everything by forgetting the page: the credentials were only in its memory.
$('#sign-out').addEventListener('click', () => window.location.reload());
$('#sign-in-user').focus();

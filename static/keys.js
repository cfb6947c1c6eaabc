// API keys (your own, or a sub-account's for an Administrator) and AuthToken rotation.

import { ApiError } from './api.js';
import { $, el, busy, clearErrors, fieldError, notify, announce, when } from './ui.js';
import { renderAccount } from './account.js';

/** The API's 404 and 400 for a missing secondary token, in the words of this page. */
function noSecondary(error) {
  if (error instanceof ApiError && (error.code === 20404 || error.parameter === 'SecondaryAuthToken')) {
    return new ApiError({ status: error.status, message: 'There is no secondary token: make one first.' });
  }
  return error;
}

async function rotation(work) {
  try {
    return await work();
  } catch (error) {
    throw noSecondary(error);
  }
}

export function initRotation(session) {
  const form = $('#rotation-form');
  $('#secondary-create').addEventListener('click', async (event) => {
    const made = await busy(event.currentTarget, form, () => session.client.createSecondary());
    if (!made) return;
    notify('Your secondary AuthToken. It is shown only now: copy it into your programs, then promote it.',
      [{ label: 'Secondary AuthToken', value: made.secondary_auth_token }]);
  });
  $('#secondary-promote').addEventListener('click', async (event) => {
    const old = session.me.auth_token;
    const promoted = await busy(event.currentTarget, form,
      () => rotation(() => session.client.promoteSecondary()));
    if (!promoted) return;
    session.client.replaceSecret(old, promoted.auth_token);
    session.me = { ...session.me, auth_token: promoted.auth_token };
    renderAccount(session.me);
    notify('The secondary token is now your AuthToken. The old one no longer works.',
      [{ label: 'AuthToken', value: promoted.auth_token }]);
  });
  $('#secondary-delete').addEventListener('click', async (event) => {
    const done = await busy(event.currentTarget, form,
      () => rotation(async () => { await session.client.deleteSecondary(); return true; }));
    if (done) announce('Secondary token deleted');
    if (done) notify('The secondary token is deleted and no longer works.');
  });
}

export function startKeys(session) {
  const { client } = session;
  /** Whose keys are shown: the signed-in account, or a sub-account it manages. */
  let owner = session.me;

  function isMine() {
    return owner.sid === session.me.sid;
  }

  async function load() {
    const form = $('#key-create-form');
    const data = await busy(form.querySelector('button'), form, () => client.keys(owner.sid));
    if (data) render(data.keys);
  }

  function render(keys) {
    const mine = isMine();
    $('#keys-whose').textContent = mine ? 'The keys of your own account.'
      : `The keys of ${owner.friendly_name} (${owner.sid}).`;
    $('#keys-caption').textContent = mine ? 'Your API keys' : `API keys of ${owner.friendly_name}`;
    $('#keys-mine').hidden = mine;
    $('#keys-table tbody').replaceChildren(...keys.map(row));
    $('#keys-empty').hidden = keys.length > 0;
  }

  function row(key) {
    const tr = el('tr');
    tr.dataset.sid = key.sid;
    const form = el('form', '', 'key-rename');
    form.noValidate = true;
    const field = el('div', '', 'field');
    const line = el('div', '', 'with-buttons');
    const input = el('input');
    input.dataset.param = 'FriendlyName';
    input.maxLength = 64;
    input.value = key.friendly_name ?? '';
    input.setAttribute('aria-label', `Name of the key ${key.sid}`);
    const rename = el('button', 'Rename');
    rename.type = 'submit';
    rename.setAttribute('aria-label', `Rename the key ${key.sid}`);
    line.append(input, rename);
    field.append(line, el('p', '', 'field-error'));
    const error = el('p', '', 'form-error');
    error.setAttribute('role', 'alert');
    for (const message of [field.lastChild, error]) message.hidden = true;
    form.append(field, error);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearErrors(form);
      const name = input.value.trim();
      if (!name) return fieldError(input, 'Type a name of 1 to 64 characters.');
      const renamed = await busy(rename, form, () => client.renameKey(owner.sid, key.sid, { FriendlyName: name }));
      if (renamed) announce(`Key renamed to ${renamed.friendly_name}`);
      return undefined;
    });
    const remove = el('button', 'Delete', 'danger');
    remove.type = 'button';
    remove.setAttribute('aria-label', `Delete the key ${key.sid}`);
    remove.addEventListener('click', async () => {
      // A first click arms the button; only a second one deletes, since a key cannot come back.
      if (!remove.dataset.armed) {
        remove.dataset.armed = 'true';
        remove.textContent = 'Delete for good?';
        return;
      }
      const gone = await busy(remove, form, async () => { await client.deleteKey(owner.sid, key.sid); return true; });
      if (gone) {
        announce('Key deleted');
        await load();
      }
    });
    const actions = el('td');
    actions.append(remove);
    const nameCell = el('td');
    nameCell.append(form);
    tr.append(nameCell, el('td', key.sid, 'mono'), el('td', when(key.date_created)), actions);
    return tr;
  }

  $('#key-create-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const name = $('#key-name').value.trim();
    const fields = name ? { FriendlyName: name } : {};
    const made = await busy(form.querySelector('button'), form, () => client.createKey(owner.sid, fields));
    if (!made) return;
    $('#key-name').value = '';
    await load();
    notify(`Made the key ${made.friendly_name ?? made.sid}. Its secret is shown only now: copy it.`,
      [{ label: 'Key SID', value: made.sid }, { label: 'Key secret', value: made.secret }]);
  });
  $('#keys-mine').addEventListener('click', () => showKeysOf(session.me));

  /** Shows the keys of `account`: the signed-in one, or a sub-account it manages. */
  function showKeysOf(account) {
    owner = account;
    clearErrors($('#key-create-form'));
    load();
    $('#keys-title').focus();
  }

  load();
  return { showKeysOf };
}

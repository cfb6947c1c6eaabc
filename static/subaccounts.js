// The Administrator's part: every account below it, paged and filtered by the API; a
// sub-account's own sub-accounts; create, rename, role, suspend, reactivate and close; the way
// to a sub-account's API keys.

import { $, $$, el, busy, clearErrors, fieldError, notify, announce, when } from './ui.js';
import { passwordRules } from './password.js';
import { statusWords } from './account.js';

const PAGE_SIZE = 20;
/** The largest page the API gives, used to gather one account's direct sub-accounts. */
const WALK_PAGE_SIZE = 1000;

/** `keys` shows the API keys of an account (see keys.js). */
export function startSubAccounts(session, keys) {
  const { client } = session;
  const view = $('#accounts-view');
  const filterForm = $('#filter-form');
  const names = new Map();
  /** The accounts drilled into, outermost first; empty for "everything below you". */
  let trail = [];
  let page = null;
  let managed = null;

  view.hidden = false;
  remember(session.me);

  function remember(account) {
    names.set(account.sid, account.friendly_name);
  }

  function ownerName(sid) {
    if (sid === session.me.sid) return 'You';
    return names.get(sid) ?? sid;
  }

  function filters() {
    const chosen = {
      FriendlyName: $('#filter-name').value.trim(),
      EmailAddress: $('#filter-email').value.trim(),
      Status: $('#filter-status').value,
    };
    return Object.fromEntries(Object.entries(chosen).filter(([, value]) => value));
  }

  /** A page as the API pages it: its own links to the previous and next pages. */
  function apiPage(data) {
    return {
      // The caller is in its own list; the table shows only what is below it.
      rows: data.accounts.filter((account) => account.sid !== session.me.sid),
      label: `Page ${data.page + 1}`,
      reload: () => client.page(data.uri).then(apiPage),
      previous: data.previous_page_uri && (() => client.page(data.previous_page_uri).then(apiPage)),
      next: data.next_page_uri && (() => client.page(data.next_page_uri).then(apiPage)),
    };
  }

  /** A page of a list gathered in full here (one account's direct sub-accounts). */
  function localPage(all, number, reload) {
    const count = Math.max(1, Math.ceil(all.length / PAGE_SIZE));
    return {
      rows: all.slice(number * PAGE_SIZE, (number + 1) * PAGE_SIZE),
      label: `Page ${number + 1} of ${count}`,
      reload,
      previous: number > 0 && (async () => localPage(all, number - 1, reload)),
      next: number + 1 < count && (async () => localPage(all, number + 1, reload)),
    };
  }

  /**
   * The API lists an Administrator's whole subtree, each account naming its owner; one
   * account's direct sub-accounts are those among them that it owns.
   */
  async function childrenOf(parent, chosen) {
    const found = [];
    let data = await client.list(chosen, WALK_PAGE_SIZE);
    for (;;) {
      found.push(...data.accounts.filter((a) => a.owner_account_sid === parent.sid && a.sid !== parent.sid));
      if (!data.next_page_uri) break;
      data = await client.page(data.next_page_uri);
    }
    return found;
  }

  function firstPage() {
    const chosen = filters();
    if (trail.length === 0) return client.list(chosen, PAGE_SIZE).then(apiPage);
    const parent = trail[trail.length - 1];
    const load = () => childrenOf(parent, chosen).then((all) => localPage(all, 0, load));
    return load();
  }

  /** Owners on other pages are fetched once, so that every row can name its owner. */
  async function learnOwners(rows) {
    for (const row of rows) remember(row);
    const unknown = [...new Set(rows.map((row) => row.owner_account_sid))].filter((sid) => !names.has(sid));
    await Promise.all(unknown.map((sid) => client.account(sid).then(remember, () => {})));
  }

  async function show(loading, button) {
    const next = await busy(button, filterForm, async () => {
      const loaded = await loading();
      await learnOwners(loaded.rows);
      return loaded;
    });
    if (next) {
      page = next;
      render();
    }
  }

  function render() {
    renderTrail();
    const body = $('#accounts-table tbody');
    body.replaceChildren(...page.rows.map(row));
    const parent = trail[trail.length - 1];
    $('#accounts-caption').textContent = parent
      ? `The sub-accounts of ${parent.friendly_name}, ${page.label.toLowerCase()}`
      : `Every account below yours, ${page.label.toLowerCase()}`;
    $('#accounts-empty').hidden = page.rows.length > 0;
    $('#page-label').textContent = page.label;
    $('#page-previous').disabled = !page.previous;
    $('#page-next').disabled = !page.next;
  }

  function renderTrail() {
    const nav = $('#trail');
    // At the top there is nowhere to go back to.
    nav.hidden = trail.length === 0;
    const steps = [{ friendly_name: 'Every account below yours' }, ...trail];
    const list = el('ol');
    steps.forEach((step, index) => {
      const item = el('li');
      if (index === steps.length - 1) {
        const here = el('span', step.friendly_name);
        here.setAttribute('aria-current', 'location');
        item.append(here);
      } else {
        const link = el('button', step.friendly_name, 'link');
        link.type = 'button';
        link.addEventListener('click', () => {
          trail = trail.slice(0, index);
          show(firstPage, link);
        });
        item.append(link);
      }
      list.append(item);
    });
    nav.replaceChildren(list);
  }

  function row(account) {
    const tr = el('tr');
    tr.dataset.sid = account.sid;
    const name = el('td');
    name.dataset.label = 'Name';
    name.append(el('span', account.friendly_name, 'name'), el('span', account.email_address ?? 'API only', 'sub'));
    const role = el('td', account.role);
    role.dataset.label = 'Role';
    const status = el('td');
    status.dataset.label = 'Status';
    status.append(el('span', statusWords(account.status), `badge status-${account.status}`));
    const owner = el('td', ownerName(account.owner_account_sid));
    owner.dataset.label = 'Owner';
    const actions = el('td', '', 'actions');
    const manage = el('button', 'Manage');
    manage.type = 'button';
    manage.setAttribute('aria-label', `Manage ${account.friendly_name}`);
    manage.addEventListener('click', () => openManage(account));
    const below = el('button', 'Sub-accounts', 'quiet');
    below.type = 'button';
    below.setAttribute('aria-label', `Show the sub-accounts of ${account.friendly_name}`);
    below.addEventListener('click', () => {
      trail = [...trail, account];
      show(firstPage, below);
    });
    actions.append(manage, below);
    tr.append(name, role, status, owner, actions);
    return tr;
  }

  // Filters and paging.
  filterForm.addEventListener('submit', (event) => {
    event.preventDefault();
    show(firstPage, filterForm.querySelector('button[type="submit"]'));
  });
  filterForm.addEventListener('reset', () => {
    setTimeout(() => show(firstPage, filterForm.querySelector('button[type="submit"]')));
  });
  $('#page-previous').addEventListener('click', (event) => show(page.previous, event.currentTarget));
  $('#page-next').addEventListener('click', (event) => show(page.next, event.currentTarget));

  // Managing one account.
  const dialog = $('#manage-dialog');
  const closeDialog = $('#close-dialog');
  for (const button of $$('[data-close]')) {
    button.addEventListener('click', () => button.closest('dialog').close());
  }
  dialog.addEventListener('close', () => {
    // The row was drawn anew while the dialog was open: give focus back to its button.
    const back = managed && $(`#accounts-table tr[data-sid="${managed.sid}"] button`);
    if (back) back.focus();
  });

  function fillManage(account) {
    managed = account;
    remember(account);
    const closed = account.status === 'closed';
    $('#manage-title').textContent = `Manage ${account.friendly_name}`;
    $('#manage-sid').textContent = account.sid;
    $('#manage-email').textContent = account.email_address ?? 'None: API only';
    $('#manage-owner').textContent = ownerName(account.owner_account_sid);
    $('#manage-role').textContent = account.role;
    $('#manage-status').textContent = statusWords(account.status);
    $('#manage-created').textContent = when(account.date_created);
    $('#manage-closed').hidden = !closed;
    $('#rename-name').value = account.friendly_name;
    $('#role-select').value = account.role;
    for (const form of ['#rename-form', '#role-form', '#status-form']) $(form).hidden = closed;
    $('#suspend-button').hidden = account.status === 'suspended';
    $('#reactivate-button').hidden = account.status !== 'suspended';
  }

  $('#manage-keys').addEventListener('click', () => {
    const account = managed;
    // Focus goes to the keys, not back to the row the dialog came from.
    managed = null;
    dialog.close();
    keys.showKeysOf(account);
  });

  function openManage(account) {
    for (const form of $$('form', dialog)) clearErrors(form);
    $('#manage-done').textContent = '';
    fillManage(account);
    dialog.showModal();
    $('#rename-name').focus();
  }

  async function change(button, form, fields, done) {
    const updated = await busy(button, form, () => client.update(managed.sid, fields));
    if (!updated) return false;
    fillManage(updated);
    $('#manage-done').textContent = done(updated);
    announce(done(updated));
    await show(() => page.reload(), button);
    return true;
  }

  $('#rename-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    clearErrors(form);
    const input = $('#rename-name');
    const name = input.value.trim();
    if (!name) return fieldError(input, 'Type a name of 1 to 64 characters.');
    return change(form.querySelector('button'), form, { FriendlyName: name },
      (a) => `Renamed to ${a.friendly_name}.`);
  });
  $('#role-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    change(form.querySelector('button'), form, { Role: $('#role-select').value },
      (a) => `${a.friendly_name} is now a ${a.role}.`);
  });
  $('#status-form').addEventListener('submit', (event) => event.preventDefault());
  $('#suspend-button').addEventListener('click', (event) => {
    change(event.currentTarget, $('#status-form'), { Status: 'suspended' },
      (a) => `${a.friendly_name} is suspended: it and every account below it cannot sign in.`);
  });
  $('#reactivate-button').addEventListener('click', (event) => {
    change(event.currentTarget, $('#status-form'), { Status: 'active' },
      (a) => `${a.friendly_name} is active again.`);
  });
  $('#close-account-button').addEventListener('click', () => {
    const who = managed.email_address ? `${managed.friendly_name} (${managed.email_address})` : `${managed.friendly_name} (${managed.sid})`;
    $('#close-title').textContent = `Close ${managed.friendly_name}?`;
    $('#close-text').textContent = `Closing ${who} is final: it can never sign in or be changed again, and it cannot be reopened. Every account below it is closed too.`;
    $('#close-confirm').textContent = `Close ${managed.friendly_name} for good`;
    clearErrors($('#close-form'));
    closeDialog.showModal();
  });
  $('#close-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const closed = await change($('#close-confirm'), form, { Status: 'closed' },
      (a) => `${a.friendly_name} is closed.`);
    if (closed) {
      closeDialog.close();
      // The buttons of a closed account are gone; the dialog's own close button stays.
      $('#manage-dialog [data-close]').focus();
    }
  });

  // Creating.
  const createForm = $('#create-form');
  const rules = passwordRules(createForm, () => $('#create-email').value.trim());
  function applyKind() {
    const person = createForm.elements.kind.value === 'person';
    for (const part of $$('.person-only', createForm)) {
      part.hidden = !person;
      for (const input of $$('input', part)) input.disabled = !person;
    }
  }
  for (const radio of createForm.elements.kind) radio.addEventListener('change', applyKind);
  applyKind();

  createForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(createForm);
    const person = createForm.elements.kind.value === 'person';
    const fields = { Role: $('#create-role').value };
    const name = $('#create-name').value.trim();
    if (name) fields.FriendlyName = name;
    if (person) {
      const email = $('#create-email');
      if (!email.value.trim()) return fieldError(email, 'Type the email address it will sign in with.');
      if (!(await rules.check())) return undefined;
      fields.EmailAddress = email.value.trim();
      fields.Password = $('#create-password').value;
      if ($('#create-uninitialized').checked) fields.Status = 'uninitialized';
    }
    const created = await busy(createForm.querySelector('button[type="submit"]'), createForm,
      () => client.create(fields));
    if (!created) return undefined;
    remember(created);
    createForm.reset();
    rules.reset();
    applyKind();
    notify(person
      ? `Created ${created.friendly_name}. It signs in with its email address and password; programs can use its Account SID and AuthToken:`
      : `Created ${created.friendly_name}. Give its Account SID and AuthToken to the program that will use it:`,
    [{ label: 'Account SID', value: created.sid }, { label: 'AuthToken', value: created.auth_token }]);
    await show(() => page?.reload() ?? firstPage(), $('#filter-form button[type="submit"]'));
    return undefined;
  });

  show(firstPage, filterForm.querySelector('button[type="submit"]'));
}

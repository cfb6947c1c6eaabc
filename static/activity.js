// The Activity view: the audit events the account may see (its own, and for an Administrator
// every account's below it), newest first, paged by the API's own page links.

import { $, el, busy } from './ui.js';

const PAGE_SIZE = 20;

/** What each event type means to a person. */
const WORDS = {
  'account.created': 'Created',
  'account.updated': 'Changed',
  'account.password-changed': 'Password changed',
  'account.suspended': 'Suspended',
  'account.reactivated': 'Reactivated',
  'account.closed': 'Closed',
  'account.password-reset': 'Password reset by the operator',
  'account.imported': 'Imported from Restcomm-Connect',
  'events.pruned': 'Old events deleted by the operator',
  'auth-token.secondary-created': 'Secondary AuthToken created',
  'auth-token.secondary-deleted': 'Secondary AuthToken deleted',
  'auth-token.promoted': 'Secondary AuthToken promoted',
  'api-key.created': 'API key created',
  'api-key.updated': 'API key renamed',
  'api-key.deleted': 'API key deleted',
};

const SOURCES = { api: 'API', console: 'Console', cli: 'Command line' };

/** "name: Old → New" for each changed field an update names; for a key, which key. */
function changes(event) {
  const data = event.event_data;
  if (event.resource_type === 'api-key') {
    const name = data?.friendly_name;
    const key = typeof name === 'string' ? `${name} (${event.resource_sid})` : event.resource_sid;
    return typeof name === 'object' && name ? `${key}: ${name.old} → ${name.new}` : key;
  }
  return Object.entries(data ?? {})
    .filter(([, value]) => value && typeof value === 'object' && 'new' in value)
    .map(([field, value]) => `${field.replace(/_/g, ' ')}: ${value.old ?? ''} → ${value.new}`)
    .join('; ');
}

export function startActivity(session) {
  const { client } = session;
  const view = $('#activity-view');
  const form = $('#activity-form');
  /** Names learnt from the events themselves; an account not named yet shows its Sid. */
  const names = new Map([[session.me.sid, session.me.friendly_name]]);
  let page = null;

  view.hidden = false;

  function learn(event) {
    // A key's events name the key, not its account.
    if (event.resource_type !== 'account') return;
    const name = event.event_data?.friendly_name;
    const known = typeof name === 'string' ? name : name?.new;
    // Newest first: the first name seen is the latest.
    if (known && !names.has(event.account_sid)) names.set(event.account_sid, known);
  }

  function nameOf(sid) {
    return names.get(sid) ?? sid;
  }

  function who(event) {
    if (event.actor_type === 'system') return 'The operator';
    if (event.actor_sid === session.me.sid) return 'You';
    if (event.actor_type === 'api-key') return `API key ${event.actor_sid}`;
    return nameOf(event.actor_sid);
  }

  function row(event) {
    const tr = el('tr');
    tr.dataset.sid = event.sid;
    const what = el('td');
    what.append(el('span', WORDS[event.event_type] ?? event.event_type, 'name'));
    const detail = changes(event);
    if (detail) what.append(el('span', detail, 'sub'));
    tr.append(
      el('td', new Date(event.event_date).toLocaleString()),
      what,
      el('td', event.account_sid === session.me.sid ? 'You' : nameOf(event.account_sid)),
      el('td', who(event)),
      el('td', `${SOURCES[event.source] ?? event.source}${event.source_ip_address ? `, ${event.source_ip_address}` : ''}`),
    );
    return tr;
  }

  function render() {
    page.events.forEach(learn);
    const body = $('#activity-table tbody');
    body.replaceChildren(...page.events.map(row));
    $('#activity-empty').hidden = page.events.length > 0;
    $('#activity-label').textContent = `Page ${page.meta.page + 1}`;
    $('#activity-newer').disabled = !page.meta.previous_page_url;
    $('#activity-older').disabled = !page.meta.next_page_url;
  }

  async function load(button, fetchPage) {
    const loaded = await busy(button, form, fetchPage);
    if (loaded) {
      page = loaded;
      render();
    }
  }

  $('#activity-refresh').addEventListener('click', (event) =>
    load(event.currentTarget, () => client.events(PAGE_SIZE)));
  $('#activity-newer').addEventListener('click', (event) =>
    load(event.currentTarget, () => client.eventsPage(page.meta.previous_page_url)));
  $('#activity-older').addEventListener('click', (event) =>
    load(event.currentTarget, () => client.eventsPage(page.meta.next_page_url)));
  load($('#activity-refresh'), () => client.events(PAGE_SIZE));
}

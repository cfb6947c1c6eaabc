// End-to-end test of the web console in Debian's chromium, driven by playwright-core.
// tests/console.rs starts a fresh server and runs this with:
//   SWITCHBOARD_URL             the server, e.g. http://127.0.0.1:PORT
//   SWITCHBOARD_FIRST_PASSWORD  the administrator's generated one-time password
//   SWITCHBOARD_SCREENSHOT      where to save the console's screenshot (optional)
// Every step done in the browser is checked through the API, as a separate client would.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.SWITCHBOARD_URL;
const FIRST_PASSWORD = process.env.SWITCHBOARD_FIRST_PASSWORD;
const SCREENSHOT = process.env.SWITCHBOARD_SCREENSHOT;
const PHONE_SCREENSHOT = process.env.SWITCHBOARD_PHONE_SCREENSHOT;
assert.ok(BASE && FIRST_PASSWORD, 'SWITCHBOARD_URL and SWITCHBOARD_FIRST_PASSWORD are required');

const ADMIN = 'administrator@company.com';
const ADMIN_PASSWORD = 'a long walk on the switchboard';
const OPS = { email: 'operations@example.com', password: 'operations team passphrase' };
const CREW = { email: 'crew@example.com', password: 'night crew passphrase' };
const DEV = { email: 'dev@example.com', password: 'developer first passphrase', chosen: 'developer chosen passphrase' };

let steps = 0;
function step(name) {
  steps += 1;
  console.log(`ok ${steps} - ${name}`);
}

/** Speaks to the API from outside the browser, as any other client. */
async function api(user, secret, method, resource, form) {
  const headers = { Authorization: `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}` };
  let body;
  if (form) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  const response = await fetch(`${BASE}/restcomm/2012-04-24${resource}`, { method, headers, body });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

const asAdmin = (method, resource, form) => api(ADMIN, ADMIN_PASSWORD, method, resource, form);

async function accountAsAdmin(id) {
  const reply = await asAdmin('GET', `/Accounts/${encodeURIComponent(id)}.json`);
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body;
}

/** Waits until an element matching `selector` shows text matching `pattern`. */
async function see(page, selector, pattern) {
  await page.locator(selector).filter({ hasText: pattern }).first().waitFor({ state: 'visible' });
}

/** Problems the page reports itself: script errors and refused loads (a CSP violation, say). */
function watch(page) {
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // A 4xx answer from the API is logged by the browser as a failed load: that is expected.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.push(`console: ${message.text()}`);
    }
  });
  return problems;
}

async function setNewPassword(page, password, confirmation = password) {
  await page.fill('#first-password', password);
  await page.fill('#first-password-confirm', confirmation);
  await page.click('#first-password-form button[type="submit"]');
}

async function administrator(context) {
  const page = await context.newPage();
  const problems = watch(page);

  await page.goto(`${BASE}/`);
  assert.equal(page.url(), `${BASE}/console/`);
  step('/ leads to the console');

  await page.fill('#sign-in-user', ADMIN);
  await page.fill('#sign-in-secret', 'not the password');
  await page.press('#sign-in-secret', 'Enter');
  await see(page, '#sign-in-form .form-error', /is wrong/);
  step('a wrong password is refused in words, beside the form');

  await page.fill('#sign-in-secret', FIRST_PASSWORD);
  await page.press('#sign-in-secret', 'Enter');
  await page.locator('#first-password-view').waitFor({ state: 'visible' });
  assert.equal(await page.textContent('#first-password-who'), ADMIN);
  step('the uninitialized administrator is taken straight to "choose a new password"');

  await setNewPassword(page, 'too short');
  await see(page, '#first-password-form .field-error', /12 to 128 characters/);
  await setNewPassword(page, 'password1234');
  await see(page, '#first-password-form .field-error', /commonly used/);
  await setNewPassword(page, `mine: ${ADMIN}`);
  await see(page, '#first-password-form .field-error', /must not contain the email address/);
  await setNewPassword(page, ADMIN_PASSWORD, `${ADMIN_PASSWORD}!`);
  await see(page, '#first-password-form .field-error', /differ/);
  assert.equal((await api(ADMIN, FIRST_PASSWORD, 'GET', `/Accounts/${ADMIN}.json`)).body.status, 'uninitialized');
  step('the page checks the password rules before sending anything');

  await setNewPassword(page, ADMIN_PASSWORD);
  await page.locator('#console-view').waitFor({ state: 'visible' });
  const admin = await accountAsAdmin(ADMIN);
  assert.equal(admin.status, 'active');
  assert.equal((await api(ADMIN, FIRST_PASSWORD, 'GET', `/Accounts/${ADMIN}.json`)).status, 401);
  assert.equal(await page.inputValue('#notice input'), admin.auth_token);
  step('the first password is set through the API, which now refuses the one-time one');

  assert.equal(await page.inputValue('#account-sid'), admin.sid);
  assert.equal(await page.getAttribute('#account-token', 'type'), 'password');
  await page.click('#account-token-reveal');
  assert.equal(await page.getAttribute('#account-token', 'type'), 'text');
  assert.equal(await page.inputValue('#account-token'), admin.auth_token);
  assert.equal(await page.getAttribute('#account-token-reveal', 'aria-pressed'), 'true');
  await page.click('#account-token-reveal');
  assert.deepEqual(await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie]), [0, 0, '']);
  step('the account page shows the Sid and the masked AuthToken; nothing is stored in the browser');

  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
    .filter((control) => control.labels.length === 0 && !control.getAttribute('aria-label'))
    .map((control) => control.id || control.name));
  assert.deepEqual(unlabelled, []);
  step('every control has a label');

  // Hold the API's answer to see the waiting state; let it go to see it end.
  let answer;
  const held = new Promise((resolve) => { answer = resolve; });
  await page.route('**/restcomm/2012-04-24/Accounts/*', async (route) => {
    await held;
    await route.continue();
  });
  await page.fill('#rename-self', 'Head office');
  await page.click('#rename-self-form button');
  await page.locator('#rename-self-form button[aria-busy="true"]:disabled').waitFor();
  await page.locator('#progress').waitFor({ state: 'visible' });
  answer();
  await see(page, '#who-name', 'Head office');
  await page.locator('#progress').waitFor({ state: 'hidden' });
  assert.equal(await page.getAttribute('#rename-self-form button', 'aria-busy'), null);
  await page.unroute('**/restcomm/2012-04-24/Accounts/*');
  step('a request shows a busy button and a progress bar until the API answers');
  assert.equal((await accountAsAdmin(ADMIN)).friendly_name, 'Head office');
  step('the session goes on with the new password: renaming itself works');

  // Create a sub-account.
  await page.fill('#create-email', OPS.email);
  await page.fill('#create-password', OPS.password);
  await page.fill('#create-password-confirm', OPS.password);
  await page.fill('#create-name', 'Operations');
  await page.click('#create-form button[type="submit"]');
  await see(page, '#notice', 'Created Operations');
  const ops = await accountAsAdmin(OPS.email);
  assert.equal(ops.friendly_name, 'Operations');
  assert.equal(ops.owner_account_sid, admin.sid);
  assert.equal(ops.status, 'active');
  assert.equal(ops.role, 'Developer');
  assert.equal(await page.inputValue('#notice-account-sid'), ops.sid);
  await page.locator(`#accounts-table tr[data-sid="${ops.sid}"]`).waitFor();
  step('an administrator creates a sub-account, shown in the table');

  const audit = await fetch(`${BASE}/restcomm/v1/Events?ResourceSid=${ops.sid}`, {
    headers: { Authorization: `Basic ${Buffer.from(`${ADMIN}:${ADMIN_PASSWORD}`).toString('base64')}` },
  });
  const created = (await audit.json()).events.find((event) => event.event_type === 'account.created');
  assert.equal(created.source, 'console');
  assert.equal(created.actor_sid, admin.sid);
  step('the audit event of a change made in the console says it came from the console');

  await page.click('#activity-refresh');
  await see(page, `#activity-table tr[data-sid="${created.sid}"]`, /Created/);
  await see(page, `#activity-table tr[data-sid="${created.sid}"]`, /Console/);
  step('the Activity view lists the change, who made it and from where');

  await page.fill('#create-email', OPS.email.toUpperCase());
  await page.fill('#create-password', OPS.password);
  await page.fill('#create-password-confirm', OPS.password);
  await page.click('#create-form button[type="submit"]');
  await see(page, '#create-form .field-error', /already in use/);
  assert.equal(await page.getAttribute('#create-email', 'aria-invalid'), 'true');
  const same = await asAdmin('GET', `/Accounts.json?EmailAddress=${encodeURIComponent(OPS.email)}`);
  assert.equal(same.body.accounts.length, 1);
  step("the API's refusal of a duplicate email is shown beside the email field");

  const manage = async (name) => {
    await page.getByRole('button', { name: `Manage ${name}`, exact: true }).click();
    await page.locator('#manage-dialog').waitFor({ state: 'visible' });
  };

  await manage('Operations');
  await page.fill('#rename-name', 'Night shift');
  await page.click('#rename-form button');
  await see(page, '#manage-done', 'Renamed to Night shift');
  assert.equal((await accountAsAdmin(ops.sid)).friendly_name, 'Night shift');
  await see(page, `#accounts-table tr[data-sid="${ops.sid}"]`, 'Night shift');
  step('rename');

  await page.selectOption('#role-select', 'Administrator');
  await page.click('#role-form button');
  await see(page, '#manage-done', 'is now a Administrator');
  assert.equal((await accountAsAdmin(ops.sid)).role, 'Administrator');
  step('change of role');

  await page.click('#suspend-button');
  await see(page, '#manage-done', 'is suspended');
  assert.equal((await accountAsAdmin(ops.sid)).status, 'suspended');
  assert.equal((await api(OPS.email, OPS.password, 'GET', `/Accounts/${ops.sid}.json`)).status, 403);
  step('suspend');

  await page.click('#reactivate-button');
  await see(page, '#manage-done', 'is active again');
  assert.equal((await accountAsAdmin(ops.sid)).status, 'active');
  step('reactivate');

  // The sub-account, now an Administrator, makes its own sub-account through the API.
  const made = await api(OPS.email, OPS.password, 'POST', '/Accounts.json',
    { EmailAddress: CREW.email, Password: CREW.password, FriendlyName: 'Night crew lead' });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  await page.keyboard.press('Escape');
  await page.locator('#manage-dialog').waitFor({ state: 'hidden' });
  await page.click('#filter-form button[type="submit"]');
  await see(page, `#accounts-table tr[data-sid="${made.body.sid}"]`, 'Night shift');
  await page.getByRole('button', { name: 'Show the sub-accounts of Night shift' }).click();
  await see(page, '#accounts-caption', 'The sub-accounts of Night shift');
  assert.deepEqual(await page.locator('#accounts-table tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.sid)),
    [made.body.sid]);
  await page.getByRole('button', { name: 'Every account below yours' }).click();
  await see(page, '#accounts-caption', 'Every account below yours');
  step("the table names each account's owner, and drills into a sub-account's own sub-accounts");

  await manage('Night shift');
  await page.click('#close-account-button');
  await page.locator('#close-dialog').waitFor({ state: 'visible' });
  const warning = await page.textContent('#close-text');
  assert.match(warning, /Night shift \(operations@example\.com\)/);
  assert.match(warning, /final/);
  assert.equal((await accountAsAdmin(ops.sid)).status, 'active');
  await page.getByRole('button', { name: 'Close Night shift for good' }).click();
  await see(page, '#manage-done', 'is closed');
  assert.equal((await accountAsAdmin(ops.sid)).status, 'closed');
  assert.equal((await accountAsAdmin(made.body.sid)).status, 'closed');
  assert.ok(await page.locator('#manage-closed').isVisible());
  assert.ok(!(await page.locator('#rename-form').isVisible()));
  await page.keyboard.press('Escape');
  step('close, after a confirmation that names the account and says it is final');

  // A Developer who must choose a password, and an API-only account.
  await page.fill('#create-email', DEV.email);
  await page.fill('#create-password', DEV.password);
  await page.fill('#create-password-confirm', DEV.password);
  await page.fill('#create-name', 'Dana Developer');
  await page.check('#create-uninitialized');
  await page.click('#create-form button[type="submit"]');
  await see(page, '#notice', 'Created Dana Developer');
  assert.equal((await accountAsAdmin(DEV.email)).status, 'uninitialized');

  await page.check('input[name="kind"][value="api"]');
  assert.ok(!(await page.locator('#create-email').isVisible()));
  await page.fill('#create-name', 'Billing robot');
  await page.selectOption('#create-role', 'ProvisioningAgent');
  await page.click('#create-form button[type="submit"]');
  await see(page, '#notice', 'Created Billing robot');
  const robotSid = await page.inputValue('#notice-account-sid');
  const robotToken = await page.inputValue('#notice-authtoken');
  const robot = await api(robotSid, robotToken, 'GET', `/Accounts/${robotSid}.json`);
  assert.equal(robot.status, 200);
  assert.equal(robot.body.email_address, null);
  assert.equal(robot.body.role, 'ProvisioningAgent');
  step('create with a first password to change, and API-only (its Sid and token work)');

  await page.selectOption('#filter-status', 'closed');
  await page.click('#filter-form button[type="submit"]');
  await see(page, '#accounts-caption', 'Every account below yours');
  await page.locator(`#accounts-table tr[data-sid="${robotSid}"]`).waitFor({ state: 'detached' });
  const closedRows = await page.locator('#accounts-table tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.sid));
  assert.deepEqual(closedRows.sort(), [ops.sid, made.body.sid].sort());
  await page.click('#filter-form button[type="reset"]');
  await page.locator(`#accounts-table tr[data-sid="${robotSid}"]`).waitFor();
  step('filter by status');

  await page.click('#notice button.quiet');
  await page.evaluate(() => window.scrollTo(0, 0));
  if (SCREENSHOT) {
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    step(`screenshot saved to ${path.basename(SCREENSHOT)}`);
  }

  // Paging: enough accounts for a second page of 20.
  for (let n = 1; n <= 20; n += 1) {
    const reply = await asAdmin('POST', '/Accounts.json', { FriendlyName: `Robot ${n}` });
    assert.equal(reply.status, 201);
  }
  const everyone = [];
  for (let uri = '/Accounts.json?PageSize=1000'; uri;) {
    const reply = await asAdmin('GET', uri);
    everyone.push(...reply.body.accounts.map((a) => a.sid).filter((sid) => sid !== admin.sid));
    uri = reply.body.next_page_uri?.replace('/2012-04-24', '');
  }
  assert.equal(everyone.length, 24);
  const sids = () => page.locator('#accounts-table tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.sid));
  await page.click('#filter-form button[type="submit"]');
  // The API pages 20 accounts at a time, the caller among them: at least 19 rows, then the rest.
  await page.waitForFunction(() => document.querySelectorAll('#accounts-table tbody tr').length >= 19);
  await see(page, '#page-label', 'Page 1');
  assert.ok(await page.isEnabled('#page-next'));
  assert.ok(!(await page.isEnabled('#page-previous')));
  const first = await sids();
  await page.click('#page-next');
  await see(page, '#page-label', 'Page 2');
  assert.ok(!(await page.isEnabled('#page-next')));
  const second = await sids();
  assert.deepEqual([...first, ...second].sort(), [...everyone].sort());
  await page.click('#page-previous');
  await see(page, '#page-label', 'Page 1');
  assert.deepEqual(await sids(), first);
  step('the table pages through the API\'s next and previous pages');

  if (PHONE_SCREENSHOT) {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: PHONE_SCREENSHOT, fullPage: false });
  }

  await page.click('#sign-out');
  await page.locator('#sign-in-view').waitFor({ state: 'visible' });
  assert.ok(!(await page.locator('#console-view').isVisible()));
  step('sign out');

  assert.deepEqual(problems, []);
  await page.close();
  return { sid: robotSid, token: robotToken };
}

async function apiOnly(context, robot) {
  const page = await context.newPage();
  const problems = watch(page);
  await page.goto(`${BASE}/console/`);
  await page.fill('#sign-in-user', robot.sid);
  await page.fill('#sign-in-secret', robot.token);
  await page.press('#sign-in-secret', 'Enter');
  await page.locator('#console-view').waitFor({ state: 'visible' });
  assert.equal(await page.inputValue('#account-sid'), robot.sid);
  await see(page, '#account-email', 'uses the API only');
  assert.ok(!(await page.locator('#password-form').isVisible()));
  assert.equal(await page.locator('#accounts-view').count(), 0);
  step('an API-only account signs in with its Sid and AuthToken, and has no password to change');
  assert.deepEqual(problems, []);
  await page.close();
}

async function developer(context) {
  const page = await context.newPage();
  const problems = watch(page);
  // Without the page's copy of the list of common passwords, the API still refuses them, and
  // the page shows the API's own words beside the field.
  await page.route('**/console/common-passwords.txt', (route) => route.fulfill({ status: 200, body: '' }));
  await page.goto(`${BASE}/console/`);
  await page.fill('#sign-in-user', DEV.email);
  await page.fill('#sign-in-secret', DEV.password);
  await page.click('#sign-in-form button[type="submit"]');
  await page.locator('#first-password-view').waitFor({ state: 'visible' });
  await setNewPassword(page, 'qwerty123456');
  await see(page, '#first-password-form .field-error', 'Password is a commonly used password');
  assert.equal((await accountAsAdmin(DEV.email)).status, 'uninitialized');
  step("the API's own refusal of a password is shown beside the field");

  await setNewPassword(page, DEV.chosen);
  await page.locator('#console-view').waitFor({ state: 'visible' });
  assert.equal((await accountAsAdmin(DEV.email)).status, 'active');
  assert.equal((await api(DEV.email, DEV.chosen, 'GET', `/Accounts/${DEV.email}.json`)).status, 200);
  assert.equal(await page.textContent('#who-role'), 'Developer');
  assert.equal(await page.locator('#accounts-view').count(), 0);
  assert.equal(await page.getByRole('button', { name: /Manage|Create|Sub-accounts|Suspend|Close/ }).count(), 0);
  assert.equal(await page.getByText('Sub-accounts').count(), 0);
  step('a Developer sees its own account and no sub-account controls');

  assert.deepEqual(problems, []);
  await page.close();
}

const profile = mkdtempSync(path.join(tmpdir(), 'switchboard-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
  viewport: { width: 1280, height: 900 },
});
context.setDefaultTimeout(15000);
try {
  const robot = await administrator(context);
  await apiOnly(context, robot);
  await developer(context);
  console.log(`console: ${steps} passed, 0 failed`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}

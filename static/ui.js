// Small DOM helpers shared by the views: errors beside their cause, busy states, copying.

import { ApiError } from './api.js';

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** Says something to screen-reader users without moving their focus. */
export function announce(message) {
  const region = $('#announcer');
  region.textContent = '';
  // A fresh text node after a tick makes repeated messages heard again.
  setTimeout(() => { region.textContent = message; }, 50);
}

/** What an API error means to the person at the keyboard. */
export function describe(error) {
  if (!(error instanceof ApiError)) return 'Something went wrong in the console. Reload the page and try again.';
  switch (error.code) {
    case 20003:
      return 'Sign-in failed: the email address or Account SID, or the password or AuthToken, is wrong.';
    case 20429: {
      const minutes = Math.max(1, Math.ceil(Number(error.retryAfter || 60) / 60));
      return `Too many failed sign-ins. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
    }
    case 20005:
      return 'This account is not active (it is suspended, closed, or must choose a new password first). Ask its administrator.';
    case 20403:
      return 'Your account may not do this.';
    case 20404:
      return 'No such account among yours (it may have been moved out of your reach).';
    case 21101:
      return 'This account is at the deepest level of the hierarchy and may not have sub-accounts.';
    case 21476:
      return 'This account cannot be reactivated while an account above it is suspended: reactivate that one first.';
    case 21479:
      return 'This account is closed. Closing is final: it can no longer be changed.';
    default:
      // The API's own words: "Invalid parameter: Password is too short ..." reads well without its prefix.
      return error.message.replace(/^Invalid parameter: /, '');
  }
}

/** Removes every error message and invalid mark inside `root`. */
export function clearErrors(root) {
  for (const message of $$('.field-error, .form-error', root)) {
    message.textContent = '';
    message.hidden = true;
  }
  for (const input of $$('[aria-invalid]', root)) input.removeAttribute('aria-invalid');
}

/** Shows `message` under `input` and marks it invalid, so it is both seen and heard. */
export function fieldError(input, message) {
  const slot = input.closest('.field').querySelector('.field-error');
  slot.textContent = message;
  slot.hidden = false;
  input.setAttribute('aria-invalid', 'true');
  input.focus();
}

/** Puts an error beside the control it concerns, or at the foot of the form. */
export function showError(form, error) {
  const message = typeof error === 'string' ? error : describe(error);
  const parameter = error instanceof ApiError ? error.parameter : null;
  const input = parameter && form.querySelector(`[data-param="${parameter}"]:not([hidden]):not(:disabled)`);
  if (input) {
    fieldError(input, message);
    return;
  }
  const slot = form.querySelector('.form-error');
  slot.textContent = message;
  slot.hidden = false;
}

/**
 * Runs `work` with `button` showing that it waits (disabled, marked busy, with a spinner), and
 * shows any error in `form`. Returns what `work` returned, or undefined after an error.
 */
export async function busy(button, form, work) {
  clearErrors(form);
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.classList.add('busy');
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof ApiError)) console.error(error);
    showError(form, error);
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.classList.remove('busy');
  }
}

/** Copies text; falls back to a hidden selection where the Clipboard API is not offered (plain http). */
export async function copy(text, what) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'offscreen';
    document.body.append(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
  announce(`${what} copied`);
}

/** Makes a copy button for a value that `read()` returns at click time. */
export function wireCopy(button, what, read) {
  button.addEventListener('click', async () => {
    await copy(read(), what);
    const label = button.textContent;
    button.textContent = 'Copied';
    setTimeout(() => { button.textContent = label; }, 1500);
  });
}

/** Creates an element with text content, without ever parsing HTML. */
export function el(tag, text = '', className = '') {
  const node = document.createElement(tag);
  if (text) node.textContent = text;
  if (className) node.className = className;
  return node;
}

/** Formats an API date ("Tue, 24 Apr 2012 22:51:29 +0000") for a person. */
export function when(date) {
  const parsed = new Date(date);
  return Number.isNaN(parsed.getTime()) ? date : parsed.toLocaleString();
}

/**
 * Shows a message at the top of the console, with values (a new token, a new Sid) that the
 * person can copy, and moves focus there so that it is read out.
 */
export function notify(message, values = []) {
  const notice = $('#notice');
  notice.replaceChildren(el('p', message));
  for (const { label, value } of values) {
    const id = `notice-${label.replace(/\W+/g, '-').toLowerCase()}`;
    const field = el('div', '', 'field');
    const name = el('label', label);
    name.htmlFor = id;
    const row = el('div', '', 'with-buttons');
    const input = el('input', '', 'mono');
    input.id = id;
    input.readOnly = true;
    input.value = value;
    const button = el('button', 'Copy');
    button.type = 'button';
    button.setAttribute('aria-label', `Copy the ${label}`);
    wireCopy(button, label, () => value);
    row.append(input, button);
    field.append(name, row);
    notice.append(field);
  }
  const dismiss = el('button', 'Dismiss', 'quiet');
  dismiss.type = 'button';
  dismiss.addEventListener('click', () => { notice.hidden = true; });
  notice.append(dismiss);
  notice.hidden = false;
  notice.focus();
}

// The public Accounts API, as any client speaks it: HTTP Basic in the Authorization header.
// The credentials live in private fields of one object in memory, and nowhere else.

const ROOT = '/restcomm';
const BASE = `${ROOT}/2012-04-24`;

/** An answer from the API that is not a success, or no answer at all (status 0). */
export class ApiError extends Error {
  constructor({ status, code = 0, message, retryAfter = null }) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }

  /** The request parameter the API blames, when it names one ("Invalid parameter: X ..."). */
  get parameter() {
    if (this.code === 20409) return 'EmailAddress';
    const match = /^Invalid parameter: (\w+) /.exec(this.message);
    return match ? match[1] : null;
  }
}

const busyListeners = new Set();
let inFlight = 0;

/** Calls `listener(busy)` whenever the console starts or stops waiting for the server. */
export function onBusyChange(listener) {
  busyListeners.add(listener);
}

function setInFlight(delta) {
  inFlight += delta;
  for (const listener of busyListeners) listener(inFlight > 0);
}

/** Basic credentials as UTF-8, since passwords may hold any character (btoa takes Latin-1). */
function basic(user, secret) {
  const bytes = new TextEncoder().encode(`${user}:${secret}`);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

export class Client {
  #user;
  #secret;

  constructor(user, secret) {
    this.#user = user;
    this.#secret = secret;
  }

  get user() {
    return this.#user;
  }

  /** After a password change the old secret no longer works. */
  useSecret(secret) {
    this.#secret = secret;
  }

  account(id) {
    return this.#request('GET', `${BASE}/Accounts/${encodeURIComponent(id)}.json`);
  }

  update(sid, fields) {
    return this.#request('POST', `${BASE}/Accounts/${encodeURIComponent(sid)}.json`, fields);
  }

  create(fields) {
    return this.#request('POST', `${BASE}/Accounts.json`, fields);
  }

  /** The first page of the caller's list; `filters` holds only the filters in use. */
  list(filters, pageSize) {
    const query = new URLSearchParams({ ...filters, PageSize: String(pageSize) });
    return this.#request('GET', `${BASE}/Accounts.json?${query}`);
  }

  /** A page named by a list's `next_page_uri` or `previous_page_uri`. */
  page(uri) {
    return this.#request('GET', `${ROOT}${uri}`);
  }

  /** The first page of the audit events the caller may see, newest first. */
  events(pageSize) {
    return this.#request('GET', `${ROOT}/v1/Events?PageSize=${pageSize}`);
  }

  /** A page named by an events page's absolute `next_page_url` or `previous_page_url`. */
  eventsPage(url) {
    const { pathname, search } = new URL(url);
    return this.#request('GET', `${pathname}${search}`);
  }

  async #request(method, path, fields) {
    // The source header records the console's changes as the console's in the audit events.
    const headers = {
      Authorization: basic(this.#user, this.#secret),
      Accept: 'application/json',
      'X-Switchboard-Source': 'console',
    };
    let body;
    if (fields) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(fields).toString();
    }
    setInFlight(1);
    try {
      let response;
      try {
        // 'omit' keeps the browser from answering a 401 with its own password prompt.
        response = await fetch(path, { method, headers, body, credentials: 'omit', cache: 'no-store' });
      } catch {
        throw new ApiError({ status: 0, message: 'The server did not answer. Check that it is running, then try again.' });
      }
      const data = await response.json().catch(() => null);
      if (!response.ok) {
        throw new ApiError({
          status: response.status,
          code: data?.code,
          message: data?.message ?? `The server answered ${response.status}.`,
          retryAfter: response.headers.get('Retry-After'),
        });
      }
      return data;
    } finally {
      setInFlight(-1);
    }
  }
}

// Drives a Switchboard server with the official Twilio helper library for Node.js, pointed at
// it by its base URL alone: the library keeps its own API version, 2010-04-01.
//
// Usage: node twilio_node.mjs BASE_URL ACCOUNT_SID AUTH_TOKEN
// where BASE_URL is the server's /restcomm root, e.g. http://127.0.0.1:8080/restcomm.

import twilio from "twilio";

const [baseUrl, sid, token] = process.argv.slice(2);

function check(condition, what) {
  if (!condition) {
    console.error(`FAILED: ${what}`);
    process.exit(1);
  }
}

function switchboardClient(username, password) {
  const client = twilio(username, password);
  client.api.baseUrl = baseUrl;
  return client;
}

async function refusal(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return null;
}

const accounts = switchboardClient(sid, token).api.v2010.accounts;

const me = await accounts(sid).fetch();
check(me.sid === sid, "fetch returns the account");
check(me.status === "active", "status");
check(me.dateCreated instanceof Date && !isNaN(me.dateCreated), "RFC 2822 dates parse");
check(me.authToken === token, "the token");
check(Object.keys(me.subresourceUris).length === 10, "ten subresource URIs");
check(me.uri === `/2012-04-24/Accounts/${sid}.json`, "uri keeps the Restcomm version");

const created = await accounts.create({ friendlyName: "Created by twilio-node" });
check(created.sid.startsWith("AC") && created.sid.length === 34, "create returns a Sid");
check(created.ownerAccountSid === sid, "the caller owns the new account");
check(created.friendlyName === "Created by twilio-node", "create keeps the name");
check(created.authToken.length === 32, "create returns a token");

const updated = await accounts(created.sid).update({
  friendlyName: "Renamed",
  status: "suspended",
});
check(updated.friendlyName === "Renamed", "update renames");
check(updated.status === "suspended", "update suspends");

const made = [sid, created.sid];
for (let number = 0; number < 6; number++) {
  made.push((await accounts.create({ friendlyName: `Bulk ${number}` })).sid);
}

const listed = (await accounts.list({ pageSize: 3 })).map((account) => account.sid);
check(listed.length === 8, `list follows next_page_uri through every page (got ${listed.length})`);
check(JSON.stringify(listed) === JSON.stringify(made), "list is in creation order");

const firstPage = await accounts.page({ pageSize: 3 });
check(firstPage.instances.length === 3, "a page holds PageSize accounts");
const secondPage = await firstPage.nextPage();
check(secondPage !== undefined, "nextPage works");
const secondSids = secondPage.instances.map((account) => account.sid);
check(JSON.stringify(secondSids) === JSON.stringify(made.slice(3, 6)), "the second page follows");
const back = await secondPage.previousPage();
check(back.instances[0].sid === sid, "previousPage leads back");

const byName = await accounts.list({ friendlyName: "Renamed" });
check(byName.length === 1 && byName[0].sid === created.sid, "FriendlyName filter");
const bySuspended = await accounts.list({ status: "suspended" });
check(bySuspended.length === 1 && bySuspended[0].sid === created.sid, "Status filter");

const missing = await refusal(accounts("AC" + "0".repeat(32)).fetch());
check(missing !== null, "a missing account is not found");
check(missing.constructor.name === "RestException", `404 is a RestException (${missing})`);
check(missing.status === 404 && missing.code === 20404, "404 status and code");
check(missing.message.includes("not found"), "404 message");
check(missing.moreInfo.endsWith("/20404"), "404 more_info");

const wrong = await refusal(switchboardClient(sid, "0".repeat(32)).api.v2010.accounts(sid).fetch());
check(wrong !== null && wrong.status === 401 && wrong.code === 20003, "401 is a RestException");

console.log("twilio-node: all checks passed");

"""Drives a Switchboard server with the official Twilio helper library for Python.

Usage: twilio_helper.py BASE_URL ACCOUNT_SID AUTH_TOKEN [VERSION]
where BASE_URL is the server's /restcomm root, e.g. http://127.0.0.1:8080/restcomm, and
VERSION, when given, replaces the library's own API version (2010-04-01), e.g. 2012-04-24.
"""

import datetime
import sys

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client


def check(condition, what):
    if not condition:
        raise SystemExit(f"FAILED: {what}")


def switchboard_client(username, password):
    """A Twilio client pointed at Switchboard, as the contract's section 8 says."""
    client = Client(username, password)
    client.api.base_url = base_url
    if version is not None:
        client.api.v2010.version = version
    return client


base_url, sid, token = sys.argv[1:4]
version = sys.argv[4] if len(sys.argv) > 4 else None
accounts = switchboard_client(sid, token).api.v2010.accounts

me = accounts(sid).fetch()
check(me.sid == sid, "fetch returns the account")
check(me.status == "active", "status")
check(isinstance(me.date_created, datetime.datetime), "RFC 2822 dates parse")
check(me.date_created.utcoffset() == datetime.timedelta(0), "dates are UTC")
check(me.auth_token == token, "the token")
check(len(me.subresource_uris) == 10, "ten subresource URIs")
check(me.uri == f"/2012-04-24/Accounts/{sid}.json", "uri keeps the Restcomm version")

created = accounts.create(friendly_name="Created by twilio-python")
check(created.sid.startswith("AC") and len(created.sid) == 34, "create returns a Sid")
check(created.owner_account_sid == sid, "the caller owns the new account")
check(created.friendly_name == "Created by twilio-python", "create keeps the name")
check(len(created.auth_token) == 32, "create returns a token")

updated = accounts(created.sid).update(friendly_name="Renamed", status="suspended")
check(updated.friendly_name == "Renamed", "update renames")
check(updated.status == "suspended", "update suspends")

for number in range(6):
    accounts.create(friendly_name=f"Bulk {number}")

listed = accounts.list(page_size=3)
sids = [account.sid for account in listed]
check(len(sids) == 8, f"list follows next_page_uri through every page (got {len(sids)})")
check(len(set(sids)) == 8, "no account twice")
check(sid in sids, "the caller is listed")

first_page = accounts.page(page_size=3)
second_page = first_page.next_page()
first_sids = [account.sid for account in first_page]
check(len(first_sids) == 3, "a page holds PageSize accounts")
check(second_page is not None, "next_page works")
second_sids = [account.sid for account in second_page]
check(len(second_sids) == 3, "the second page is full")
check(not set(first_sids) & set(second_sids), "pages do not overlap")

by_name = accounts.list(friendly_name="Renamed")
check([account.sid for account in by_name] == [created.sid], "FriendlyName filter")
by_status = accounts.list(status="suspended")
check([account.sid for account in by_status] == [created.sid], "Status filter")

try:
    accounts(created.sid).update(status="active")
    check(accounts(created.sid).fetch().status == "active", "reactivation")
    switchboard_client(sid, "0" * 32).api.v2010.accounts(sid).fetch()
    raise SystemExit("FAILED: a wrong token was accepted")
except TwilioRestException as error:
    check(error.status == 401 and error.code == 20003, f"401 surfaces as TwilioRestException ({error.status})")

try:
    accounts("AC" + "0" * 32).fetch()
    raise SystemExit("FAILED: a missing account was found")
except TwilioRestException as error:
    check(error.status == 404, "404 status")
    check(error.code == 20404, "404 code")
    check("not found" in error.msg, "404 message")

print("twilio-python: all checks passed")

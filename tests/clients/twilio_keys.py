"""Drives AuthToken rotation and API keys with the official Twilio helper library for Python.

Usage: twilio_keys.py BASE_URL ACCOUNT_SID AUTH_TOKEN
where BASE_URL is the server's /restcomm root, e.g. http://127.0.0.1:8080/restcomm.
"""

import datetime
import sys

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client


def check(condition, what):
    if not condition:
        raise SystemExit(f"FAILED: {what}")


def switchboard_client(username, password, account_sid=None):
    """Both of Twilio's hosts pointed at Switchboard: the API and the v1 accounts domain."""
    client = Client(username, password, account_sid)
    client.api.base_url = base_url
    client.accounts.base_url = base_url
    return client


def refused(call, status):
    try:
        call()
    except TwilioRestException as error:
        return error.status == status
    return False


base_url, sid, token = sys.argv[1:4]

# AuthToken rotation.
owner = switchboard_client(sid, token)
secondary = owner.accounts.v1.secondary_auth_token().create()
check(secondary.account_sid == sid, "the secondary token is the caller's")
check(len(secondary.secondary_auth_token) == 32, "a 32-digit secondary token")
check(isinstance(secondary.date_created, datetime.datetime), "ISO 8601 dates parse")
check(secondary.url == "/v1/AuthTokens/Secondary", "the secondary token's url")
second = secondary.secondary_auth_token
for secret in (token, second):
    fetched = switchboard_client(sid, secret).api.v2010.accounts(sid).fetch()
    check(fetched.sid == sid, "both tokens authenticate before the promotion")

promoted = switchboard_client(sid, second).accounts.v1.auth_token_promotion().update()
check(promoted.auth_token == second, "the promotion answers the new AuthToken")
check(
    refused(lambda: switchboard_client(sid, token).api.v2010.accounts(sid).fetch(), 401),
    "the old token is refused with 401 as a TwilioRestException",
)
owner = switchboard_client(sid, second)
check(owner.api.v2010.accounts(sid).fetch().auth_token == second, "the account shows it")

owner.accounts.v1.secondary_auth_token().create()
check(owner.accounts.v1.secondary_auth_token().delete(), "the secondary token is deleted")
check(
    refused(owner.accounts.v1.secondary_auth_token().delete, 404),
    "deleting it again is 404",
)

# API keys.
account = owner.api.v2010.accounts(sid)
made = account.new_keys.create(friendly_name="made by twilio-python")
check(made.sid.startswith("SK") and len(made.sid) == 34, "a key Sid")
check(len(made.secret) == 32, "the secret is shown on create")
check(made.friendly_name == "made by twilio-python", "the key's name")
as_key = switchboard_client(made.sid, made.secret, sid)
check(as_key.api.v2010.accounts(sid).fetch().sid == sid, "the key acts as its account")
check(as_key.api.v2010.account.fetch().sid == sid, "the key's account is the client's")

for number in range(5):
    account.new_keys.create(friendly_name=f"bulk {number}")
keys = account.keys.list(page_size=2)
check(len(keys) == 6, f"keys.list follows every page (got {len(keys)})")
check(len({key.sid for key in keys}) == 6, "no key twice")
check(all(not hasattr(key, "secret") for key in keys), "no secret in a listing")
check(keys[0].sid == made.sid, "keys list in creation order")

renamed = account.keys(made.sid).update(friendly_name="renamed")
check(renamed.friendly_name == "renamed", "update renames the key")
check(account.keys(made.sid).fetch().friendly_name == "renamed", "fetch shows the new name")

check(account.keys(made.sid).delete(), "the key is deleted")
check(
    refused(lambda: as_key.api.v2010.accounts(sid).fetch(), 401),
    "a deleted key is refused with 401",
)
check(refused(account.keys(made.sid).fetch, 404), "a deleted key is gone")

print("all checks passed")

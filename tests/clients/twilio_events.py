"""Reads Switchboard's audit events with the official Twilio helper library for Python
(Monitor v1), pointed at the server by its base URL alone.

Usage: twilio_events.py BASE_URL ACCOUNT_SID AUTH_TOKEN
The server must hold the administrator's own creation event; this script makes more.
"""

import datetime
import sys

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client


def check(condition, what):
    if not condition:
        raise SystemExit(f"FAILED: {what}")


base_url, sid, token = sys.argv[1:4]
client = Client(sid, token)
client.api.base_url = base_url
client.monitor.base_url = base_url
accounts = client.api.v2010.accounts
events = client.monitor.v1.events

made = [accounts.create(friendly_name=f"Audited {n}").sid for n in range(5)]
accounts(made[0]).update(friendly_name="Audited, renamed")
accounts(made[1]).update(status="suspended")

everything = events.list()
check(len(everything) == 8, f"every event is listed: {len(everything)}")
check(everything[0].event_type == "account.suspended", "newest first")
check(all(e.sid.startswith("AE") for e in everything), "event Sids")
check(isinstance(everything[0].event_date, datetime.datetime), "ISO 8601 dates parse")

paged = list(events.stream(page_size=2))
check([e.sid for e in paged] == [e.sid for e in everything], "paging through pages of two")
page = events.page(page_size=3)
check(len(list(page)) == 3 and page.next_page() is not None, "a first page of three leads on")

created = events.list(event_type="account.created")
check(len(created) == 6, f"EventType filter: {len(created)}")
mine = events.list(actor_sid=sid)
check(len(mine) == 7, f"ActorSid filter: {len(mine)}")
about = events.list(resource_sid=made[0])
check(sorted(e.event_type for e in about) == ["account.created", "account.updated"],
      "ResourceSid filter")
check(about[0].event_data["friendly_name"]["new"] == "Audited, renamed", "event_data")
from_here = events.list(source_ip_address="127.0.0.1")
check(len(from_here) == 7, f"SourceIpAddress filter: {len(from_here)}")

now = datetime.datetime.now(datetime.timezone.utc)
hour = datetime.timedelta(hours=1)
check(len(events.list(start_date=now - hour, end_date=now + hour)) == 8, "a date range")
check(len(events.list(start_date=now + hour)) == 0, "a range in the future")
check(len(events.list(end_date=now - hour)) == 0, "a range in the past")

one = events(everything[0].sid).fetch()
check(one.sid == everything[0].sid and one.account_sid == made[1], "fetch by Sid")
check(one.actor_sid == sid and one.actor_type == "account", "actor")
check(one.source == "api" and one.resource_type == "account", "source and resource type")
try:
    events("AE" + "0" * 32).fetch()
    check(False, "an unknown event is 404")
except TwilioRestException as error:
    check(error.status == 404 and error.code == 20404, "404 with the error body")

print("all checks passed")

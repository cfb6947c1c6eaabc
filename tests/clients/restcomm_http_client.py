"""The Python http.client example of the Restcomm Accounts page, as written there except for the
scheme and host (plain HTTP to the test server). Usage: restcomm_http_client.py HOST:PORT SID TOKEN
"""

import sys
from http.client import HTTPConnection
from base64 import b64encode

HOST, ACCOUNT_SID, AUTH_TOKEN = sys.argv[1:4]

userAndPass = b64encode(bytes(ACCOUNT_SID + ':' + AUTH_TOKEN, 'utf-8')).decode("ascii")
headers = { 'Authorization' : 'Basic %s' %  userAndPass }

conn = HTTPConnection(HOST)
conn.request("GET", '/restcomm/2012-04-24/Accounts/' + ACCOUNT_SID + '.json',
      headers=headers)
res = conn.getresponse()

print(res.status)
print(res.read().decode("utf-8"))

"""Follows next_page_uri (accounts) or meta.next_page_url (events) from a first page for STEPS
pages and prints the path reached.

Usage: walk.py PORT AUTHORIZATION FIRST_PATH STEPS
"""
import http.client
import re
import sys

NEXT = re.compile(rb'"next_page_uri":"([^"]+)"')
NEXT_URL = re.compile(rb'"next_page_url":"https?://[^/"]+([^"]+)"')


def main():
    port, authorization, path, steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    conn = http.client.HTTPConnection("127.0.0.1", int(port))
    for _ in range(steps):
        conn.request("GET", path, headers={"Authorization": authorization})
        reply = conn.getresponse()
        body = reply.read()
        if reply.status != 200:
            sys.exit(f"walk: {reply.status} on {path}")
        found = NEXT.search(body, max(0, len(body) - 1024))
        if found:
            path = "/restcomm" + found.group(1).decode()
            continue
        found = NEXT_URL.search(body)
        if not found:
            sys.exit(f"walk: no next page after {path}")
        path = found.group(1).decode().replace("\\u0026", "&")
    print(path)


main()

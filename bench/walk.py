"""Follows next_page_uri from a first page for STEPS pages and prints the path reached.

Usage: walk.py PORT AUTHORIZATION FIRST_PATH STEPS
"""
import http.client
import re
import sys

NEXT = re.compile(rb'"next_page_uri":"([^"]+)"')


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
        if not found:
            sys.exit(f"walk: no next_page_uri after {path}")
        path = "/restcomm" + found.group(1).decode()
    print(path)


main()

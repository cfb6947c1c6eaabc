-- GET of the URL given to wrk; credentials come in with -H.
dofile("bench/lua/report.lua")

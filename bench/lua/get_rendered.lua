-- GET of the URL given to wrk with a query key the server ignores but that differs on every
-- request, so no answer comes from the server's page cache: every page is read and rendered.
dofile("bench/lua/report.lua")
local n = 0
request = function()
  n = n + 1
  local separator = string.find(wrk.path, "?", 1, true) and "&" or "?"
  return wrk.format(nil, wrk.path .. separator .. "bench=" .. n)
end

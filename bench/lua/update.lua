-- POST /Accounts/{Sid}.json with a FriendlyName never sent before, so every request is a
-- real write (an unchanged name would be answered without one).
dofile("bench/lua/report.lua")
math.randomseed(os.time())
local prefix = "bench " .. math.random(1, 1000000000) .. " "
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", nil, form_headers(),
    "FriendlyName=" .. string.gsub(prefix .. n, " ", "+"))
end

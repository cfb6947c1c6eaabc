-- Creates with an email address and a password: each pays one bcrypt hash.
dofile("bench/lua/report.lua")
math.randomseed(os.time())
local prefix = "b" .. math.random(1, 1000000000) .. "n"
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", nil, form_headers(),
    "EmailAddress=" .. prefix .. n .. "%40bench.example&Password=correct+horse+battery+41")
end

-- Twilio-style creates (FriendlyName only, so no bcrypt) until CREATE_COUNT were answered 201
-- (those still in flight then make a few more). Then it writes "done" to CREATE_MARK: wrk
-- itself runs on until its duration ends, so the caller times the load by that file and stops
-- wrk. On any other answer it writes "failed".
dofile("bench/lua/report.lua")
local target = tonumber(os.getenv("CREATE_COUNT"))
local created = 0

local function finish(word)
  local mark = io.open(os.getenv("CREATE_MARK"), "w")
  mark:write(word)
  mark:close()
  wrk.thread:stop()
end

request = function()
  return wrk.format("POST", nil, form_headers(), "FriendlyName=Bench+account+" .. created)
end

response = function(status)
  if status == 201 then
    created = created + 1
    if created == target then finish("done") end
  else
    finish("failed " .. status)
  end
end

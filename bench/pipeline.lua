-- wrk script: 16 requests per write, so the client stops being the limit
-- (one wrk thread saturates near the C servers' speed without it).
local depth = 16
local req
init = function(args)
  local r = {}
  for i = 1, depth do r[i] = wrk.format(nil, "/") end
  req = table.concat(r)
end
request = function() return req end

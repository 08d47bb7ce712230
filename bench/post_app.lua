-- POST /api/v1/applications with a name no other request uses.
-- `prefix` is a global that setup() gives each thread; the counter is per thread.
local counter = 0

setup = function(thread)
  thread:set("prefix", string.format("wrk-%d-%d-", os.time(), math.random(1, 1e9)))
end

request = function()
  counter = counter + 1
  local body = string.format('{"name": "%s%d", "comments": "benchmark"}', prefix, counter)
  return wrk.format("POST", "/api/v1/applications", {["Content-Type"] = "application/json"}, body)
end

-- PUT /api/v1/configurations/{id}: a small configuration with new content each time, under the
-- configuration's own name, so that it never conflicts. Each line of the file in IDS_FILE is an id
-- and that configuration's name (bench.harness.PUTS_FILE); the line is drawn at random.
-- `release` and `seed` are globals that setup() gives each thread; the counter is per thread.
local ids, names = {}, {}
for line in io.lines(os.getenv("IDS_FILE")) do
  local id, name = line:match("^(%S+) (.+)$")
  ids[#ids + 1], names[#names + 1] = id, name
end
local counter = 0
local threads = 0

setup = function(thread)
  threads = threads + 1
  thread:set("release", string.format("wrk-%d-%d-", os.time(), math.random(1, 1e9)))
  -- A seed of each thread's own: with one seed the threads would PUT the same rows at the same moments.
  thread:set("seed", os.time() * 100 + threads)
end

init = function()
  math.randomseed(seed)
end

request = function()
  counter = counter + 1
  local i = math.random(#ids)
  local body = string.format(
    '{"name": "%s", "comments": "benchmark", "config": {"replicas": %d, "region": "eu-west-1", '
      .. '"debug": false, "tags": ["a", "b"], "release": "%s%d"}}',
    names[i], counter % 9 + 1, release, counter)
  return wrk.format("PUT", "/api/v1/configurations/" .. ids[i], {["Content-Type"] = "application/json"}, body)
end

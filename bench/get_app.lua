-- GET PATH_PREFIX .. id .. PATH_SUFFIX, with ids (or names) drawn at random from the file in IDS_FILE.
local ids = {}
for line in io.lines(os.getenv("IDS_FILE")) do ids[#ids + 1] = line end
local prefix, suffix = os.getenv("PATH_PREFIX"), os.getenv("PATH_SUFFIX") or ""
math.randomseed(os.time())

request = function()
  return wrk.format("GET", prefix .. ids[math.random(#ids)] .. suffix)
end

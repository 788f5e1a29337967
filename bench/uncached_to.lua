-- wrk script: GET $WRK_PATH (a series or chart request with its query) plus `&to=` a different date on every
-- request (each thread its own, never repeating, all after the data ends so every answer is the whole series):
-- none is answered from the response cache.
local path = os.getenv("WRK_PATH")
local threads = 0
setup = function(thread)
  thread:set("id", threads)
  threads = threads + 1
end
counter = 0
request = function()
  counter = counter + 1
  local day = os.date("!%Y-%m-%d", 1893456000 + (counter * 4 + id) * 86400)
  return wrk.format("GET", path .. "&to=" .. day)
end

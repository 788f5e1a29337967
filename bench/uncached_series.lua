-- wrk script: the series endpoint (JSON) of jurisdiction j000, every request a different `to` (each thread its
-- own, never repeating), so each is answered by filtering and writing, not from the response cache.
local threads = 0
setup = function(thread)
  thread:set("id", threads)
  threads = threads + 1
end
counter = 0
request = function()
  counter = counter + 1
  local day = os.date("!%Y-%m-%d", 1893456000 + (counter * 4 + id) * 86400)
  return wrk.format("GET", "/v1/indicators/stops.search_rate/series?jurisdiction=j000&grain=month&group=all&to=" .. day)
end

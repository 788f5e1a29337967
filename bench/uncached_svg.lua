-- wrk script: every request asks for a different `to` date (each thread its own, never repeating, all after
-- the data ends so every chart is the whole series), so none is answered from the response cache: each one
-- is drawn.
local threads = 0
setup = function(thread)
  thread:set("id", threads)
  threads = threads + 1
end
counter = 0
request = function()
  counter = counter + 1
  local day = os.date("!%Y-%m-%d", 1893456000 + (counter * 4 + id) * 86400)
  return wrk.format("GET", "/v1/indicators/stops.search_rate/series.svg?jurisdiction=demo-city&group=all&to=" .. day)
end

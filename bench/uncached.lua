-- wrk script: every request asks for a different `from` date, so none is answered from the server's cache.
counter = 0
request = function()
  counter = counter + 1
  local day = 1 + (counter % 28)
  local month = 1 + (math.floor(counter / 28) % 12)
  local year = 1900 + (math.floor(counter / 336) % 100)
  local path = string.format("/v1/indicators/stops.search_rate/series?jurisdiction=demo-city&grain=month&group=all&from=%04d-%02d-%02d", year, month, day)
  return wrk.format("GET", path)
end

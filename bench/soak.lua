-- wrk script for bench/soak.sh: a mix of public reads. Most ask what a dashboard asks (the same series
-- again, answered from the cache until a write); some ask a new date window each time (never cached);
-- the rest list datasets and indicators or read a disparity table.
counter = 0
local series = {"stops.search_rate", "stops.count", "stops.arrest_rate", "crime_reports.race_share", "detainers.count"}
request = function()
  counter = counter + 1
  local k = counter % 20
  local ind = series[1 + (counter % #series)]
  if k < 12 then
    return wrk.format("GET", "/v1/indicators/" .. ind .. "/series?jurisdiction=demo-city&grain=month&group=all")
  elseif k < 16 then
    local day = 1 + (counter % 28)
    local year = 1990 + (math.floor(counter / 28) % 30)
    return wrk.format("GET", string.format("/v1/indicators/%s/series?jurisdiction=demo-city&grain=week&from=%04d-01-%02d", ind, year, day))
  elseif k < 18 then
    return wrk.format("GET", "/v1/datasets")
  elseif k < 19 then
    return wrk.format("GET", "/v1/indicators")
  else
    return wrk.format("GET", "/v1/disparities/stops?jurisdiction=demo-city")
  end
end

-- Any status but 200 is an error of the soak.
bad = 0
response = function(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
  end
end

done = function(summary, latency, requests)
  io.write(string.format("non-200 responses: %d\n", bad))
end

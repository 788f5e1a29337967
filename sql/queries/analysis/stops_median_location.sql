-- Where a jurisdiction's stops are, when it has no centroid: the median coordinates of its geocoded stops.
SELECT median(lat), median(lng), count(*)
FROM stops
WHERE jurisdiction_id = $1 AND lat BETWEEN -90 AND 90 AND lng BETWEEN -180 AND 180 AND lat <> 0 AND lng <> 0

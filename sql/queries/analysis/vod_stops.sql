-- Stops with a clock time, for the veil-of-darkness test: local date, minute of the day, race, district.
SELECT date, hour(time) * 60 + minute(time) AS minute, subject_race, district
FROM stops
WHERE jurisdiction_id = $1 AND date BETWEEN $2 AND $3 AND time IS NOT NULL
ORDER BY date, minute

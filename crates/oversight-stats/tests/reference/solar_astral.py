"""Reference sunset and civil-dusk times for oversight-stats' solar tests.

Produced with astral 3.2 (pip install astral==3.2) under Python 3.11:
    python3 solar_astral.py > solar_astral.json
"""
import datetime
import json
from zoneinfo import ZoneInfo

import astral
from astral import Observer
from astral.sun import dusk, sunset

POINTS = [
    ("hartford", 41.7637, -72.6851, "America/New_York", ["2014-06-21", "2014-12-07", "2015-03-08", "2015-11-01", "2016-09-29"]),
    ("minneapolis", 44.9778, -93.2650, "America/Chicago", ["2017-01-01", "2017-06-21", "2017-12-31"]),
    ("demo-city", 41.88, -87.63, "America/Chicago", ["2016-03-15", "2018-08-01", "2020-10-31"]),
]

out = {"astral_version": astral.__version__, "cases": []}
# Events of the local calendar day (astral's `tzinfo`), reported in UTC.
for name, lat, lng, tz, dates in POINTS:
    obs = Observer(latitude=lat, longitude=lng)
    zone = ZoneInfo(tz)
    utc = datetime.timezone.utc
    for d in dates:
        day = datetime.date.fromisoformat(d)
        out["cases"].append({
            "place": name,
            "lat": lat,
            "lng": lng,
            "timezone": tz,
            "date": d,
            "sunset_utc": sunset(obs, date=day, tzinfo=zone).astimezone(utc).strftime("%Y-%m-%dT%H:%M:%S"),
            "civil_dusk_utc": dusk(obs, date=day, tzinfo=zone, depression=6).astimezone(utc).strftime("%Y-%m-%dT%H:%M:%S"),
        })
print(json.dumps(out, indent=1))
